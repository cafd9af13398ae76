import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fifo, lifo, priority } from '../../src/strategies/ordered';
import { weightedRandom } from '../../src/strategies/weighted-random';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import type { Strategy } from '../../src/strategies/types';
import type { ClaimRequest } from '../../src/queue/types';

describe('SQLite claim query plans', () => {
  let dir: string;
  let store: SqliteTaskStore;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-plan-'));
    store = createSqliteTaskStore({ path: path.join(dir, 'q.db'), logger: { error() {}, warn() {}, info() {}, debug() {} } });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const strategies: [string, Strategy][] = [['fifo', fifo], ['lifo', lifo], ['priority', priority], ['weighted-random', weightedRandom()]];
  const filters: Partial<ClaimRequest>[] = [
    {}, { types: ['a'] }, { capabilities: { region: 'us' } }, { types: ['a'], capabilities: { region: 'us' } },
    { types: ['a', 'b'], pinnedTypes: ['a'], capabilities: { owner: 'x' } },
  ];
  const variants = [...filters.map((f) => ({ ...f, limit: 1 })), ...filters.map((f) => ({ ...f, limit: 10 }))];

  it.each(strategies)('%s is served by a partial index: no full scan, no temp sort', (_name, strategy) => {
    for (const v of variants) {
      const plan = store.explainClaim({ strategy, ...v });
      expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX tasks_ready_by_(time|priority)/);
      for (const line of plan) {
        expect(line).not.toMatch(/^SCAN tasks\b/);
        expect(line).not.toMatch(/TEMP B-TREE/);
      }
    }
  });

  it('takes back expired leases through the lease-expiry index', () => {
    const plan = store.explainTakeBack();
    expect(plan.join('\n')).toMatch(/tasks_lease_expiry/);
  });
});
