// Jobs that run TensorFlow.js pick the backend named by the host (`backend`, `threads`), once per process.
import type { BackendInfo } from '../protocol.js';
import type { BackendName } from '../backend.js';

export async function useBackend(preferred: string | undefined, threads?: number): Promise<BackendInfo> {
  // Loaded on first use: catalog-only commands never pay for TensorFlow.js.
  const { initBackend } = await import('../backend.js');
  return initBackend(preferred as BackendName | undefined, threads === undefined ? {} : { threads });
}
