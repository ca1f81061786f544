// Job progress on stderr: a redrawn bar with stage, percent and ETA on a terminal, occasional
// plain lines when stderr is a file or pipe, nothing at all when asked for silence.
import type { JobProgress } from '../protocol.js';
import { formatSeconds } from './text.js';

export type ProgressMode = 'bar' | 'lines' | 'off';

const BAR_WIDTH = 24;
const BAR_REDRAW_MS = 100;
const LINE_EVERY_MS = 2000;

export class ProgressReporter {
  private lastDraw = 0;
  private lastStage = '';
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly mode: ProgressMode,
    private readonly label: string,
  ) {}

  update(progress: JobProgress): void {
    if (this.mode === 'off') return;
    const now = Date.now();
    // 'importing 3/10' → 'importing #/#': counting up is not a new stage worth a line of its own.
    const stage = progress.stage.replace(/\d+/g, '#');
    const stageChanged = stage !== this.lastStage;
    if (this.mode === 'bar') {
      if (now - this.lastDraw < BAR_REDRAW_MS && !stageChanged) return;
      const filled = Math.round(progress.fraction * BAR_WIDTH);
      const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
      this.stream.write(`\r\x1b[2K${this.label} ${bar} ${percent(progress)} ${progress.stage}${eta(progress)}`);
      this.drawn = true;
    } else {
      if (now - this.lastDraw < LINE_EVERY_MS && !stageChanged) return;
      this.stream.write(`${this.label}: ${percent(progress)} ${progress.stage}${eta(progress)}\n`);
    }
    this.lastDraw = now;
    this.lastStage = stage;
  }

  /** Clears the bar so what follows starts on a clean line. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

function percent(progress: JobProgress): string {
  return `${Math.floor(progress.fraction * 100)}%`.padStart(4);
}

function eta(progress: JobProgress): string {
  return progress.etaSeconds === null ? '' : ` · ETA ${formatSeconds(progress.etaSeconds)}`;
}
