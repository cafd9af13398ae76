import { checkParityWithFile, closeModeExecutor, createModeExecutor, loadConfig, type ModeExecutor } from '../../src/compat';
import { ManualClock, SystemClock, type Clock } from '../../src/core/clock';
import { createLogger, type Logger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, isFinishedStatus, type Run, type RunChangeListener } from '../../src/manager';
import { tempDb } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} });

/** A logger that keeps what the registry reports about its listeners. */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const silent = createLogger('silent');
  return { ...silent, error: (message, meta) => errors.push(`${message} ${JSON.stringify(meta)}`), errors };
}

/**
 * A manager of `mode` whose registry has `listener` subscribed before the manager is built, as an
 * application that wires its registry first does.
 */
async function withListenedManager(mode: string, listener: (manager: BackgroundTaskManager) => RunChangeListener, body: (m: { manager: BackgroundTaskManager; registry: RunRegistry; dbPath: string; errors: string[] }) => Promise<void>, clock: Clock = new SystemClock()): Promise<void> {
  const db = tempDb();
  const logger = recordingLogger();
  const registry = new RunRegistry({ logger });
  let manager!: BackgroundTaskManager;
  const off = registry.subscribe((r, kind) => listener(manager)(r, kind));
  const config = loadConfig({ TASKBRIDGE_MODE: mode, TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms', TASKBRIDGE_MIRROR_FLUSH_DELAY: '5ms' }, {});
  const executor: ModeExecutor = createModeExecutor(config, registry, { clock, logger: createLogger('silent') });
  manager = new BackgroundTaskManager(registry, { executor, clock, logger: createLogger('silent') });
  try {
    await body({ manager, registry, dbPath: db.dbPath, errors: logger.errors });
  } finally {
    off();
    await closeModeExecutor(executor);
    db.remove();
  }
}

describe.each(['memory', 'shadow', 'sqlite'])('%s mode: registry listeners', (mode) => {
  it('a listener that starts a run again when it completes (a recurring job) gets it started, and run', async () => {
    let restarted = false;
    let secondRan = false;
    const clock = new ManualClock(Date.now());
    const restartOnce = (manager: BackgroundTaskManager): RunChangeListener => (r) => {
      if (r.runId !== 'nightly' || r.status !== 'completed' || restarted) return;
      restarted = true;
      manager.startTask(run('nightly'), async () => {
        secondRan = true;
        // The second run lasts a minute: its times differ from the first run's.
        clock.advance(60_000);
      });
    };
    await withListenedManager(mode, restartOnce, async ({ manager, registry, dbPath, errors }) => {
      manager.startTask(run('nightly'), async () => 'first');
      await manager.waitAll();
      expect(errors).toEqual([]);
      expect(restarted).toBe(true);
      expect(secondRan).toBe(true);
      expect(registry.getRun('nightly')).toMatchObject({ status: 'completed', exitCode: 0 });
      // The mirror followed the second run to its end as well (shadow; the others have no mirror rows).
      if (mode === 'shadow') expect(checkParityWithFile(registry, dbPath).mismatches).toEqual([]);
    }, clock);
  });

  it('a listener that sees a run finish sees the manager hold it as no longer active', async () => {
    const seen: string[] = [];
    const watchCounts = (manager: BackgroundTaskManager): RunChangeListener => (r) => {
      if (isFinishedStatus(r.status)) seen.push(`${r.runId}:${r.status}:${manager.isTaskActive(r.runId)}:${manager.getActiveTaskIds().includes(r.runId)}`);
    };
    await withListenedManager(mode, watchCounts, async ({ manager }) => {
      manager.startTask(run('a'), async () => undefined);
      manager.startTask(run('b'), async () => {
        throw new Error('b fails');
      });
      manager.startTask(run('c'), () => new Promise(() => undefined));
      await manager.cancelTask('c');
      await manager.waitAll();
      expect(seen.sort()).toEqual(['a:completed:false:false', 'b:failed:false:false', 'c:cancelled:false:false']);
      expect(manager.getActiveTaskCount()).toBe(0);
    });
  });
});
