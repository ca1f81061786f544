// Registers the pipeline's job kinds and requests on an engine service (one line in service.ts).
import type { CollectParams, DemoParams, EvaluateParams, GenerateParams, TrainParams } from '../protocol.js';
import type { EngineService } from '../service.js';
import { runCollect } from './collect.js';
import { runDemo } from './demo.js';
import { runEvaluate } from './evaluate.js';
import { runGenerate } from './generate.js';
import { runTrain } from './train.js';

export function installPipeline(service: EngineService): void {
  const catalog = () => service.catalog();
  const changed = (what: 'zoos' | 'checkpoints' | 'runs' | 'models' | 'evaluations', zoo?: string) =>
    service.emit({ type: 'catalog.changed', what, ...(zoo ? { zoo } : {}) });

  service.handleJob('collect', 'collect', async (params: CollectParams, ctx) => {
    try {
      return await runCollect(catalog(), service.blobs, params, ctx);
    } finally {
      changed('checkpoints', params.zoo);
    }
  });
  service.handleJob('train', 'train', async (params: TrainParams, ctx) => {
    try {
      return await runTrain(catalog(), service.blobs, params, ctx);
    } finally {
      changed('runs', params.zoo);
    }
  });
  service.handleJob('generate', 'generate', async (params: GenerateParams, ctx) => {
    try {
      return await runGenerate(catalog(), service.blobs, params, ctx);
    } finally {
      changed('models');
    }
  });
  service.handleJob('evaluate', 'evaluate', async (params: EvaluateParams, ctx) => {
    try {
      return await runEvaluate(catalog(), service.blobs, params, ctx);
    } finally {
      changed('evaluations');
    }
  });
  service.handleJob('demo', 'demo', async (params: DemoParams, ctx) => {
    try {
      return await runDemo(catalog(), service.blobs, params, ctx);
    } finally {
      changed('zoos');
    }
  });
}
