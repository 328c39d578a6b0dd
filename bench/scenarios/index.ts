import { accessExportScenario } from './access-export.js';
import type { Scenario } from './context.js';
import { e2eErasureScenario } from './e2e-erasure.js';
import { erasureScenario } from './erasure.js';
import { flowsScenario } from './flows.js';
import { retentionScenario } from './retention.js';
import { webhooksScenario } from './webhooks.js';

/** Every scenario, in the order they run and appear in the report (the numbering). */
export const scenarios: Scenario[] = [
  flowsScenario,
  webhooksScenario,
  erasureScenario,
  e2eErasureScenario,
  retentionScenario,
  accessExportScenario,
];
