import { join } from 'node:path';
import * as fc from 'fast-check';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { PayloadTooLargeError, TaskbridgeError } from '../../src/core/errors';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies';
import { SILENT, dump, report, runCli, tempDir } from './harness';

/** Strings that break naive SQL or shell handling. */
const HOSTILE = [
  "'", '"', "'; DROP TABLE tasks; --", '" OR 1=1 --', 'x\' OR \'1\'=\'1', '); DELETE FROM tasks; (', '%', '_', '\\', '`',
  '\u0000', 'nul\u0000byte', 'Ünïcödé 🚀 汉字', '\u202Eevil', '\uD83D\uDE80', 'a'.repeat(200), ' ', '\n', '$(rm -rf /)', '${HOME}',
  'NULL', 'null', 'undefined', '__proto__', 'constructor', 'json_each', '*/', '/*',
];
const hostileString = fc.constantFrom(...HOSTILE);
const weird = fc.oneof(
  fc.anything(),
  hostileString,
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 2 ** 53, -(2 ** 63), 1e308, 1.5, '1', '', [], {}, null, undefined, true, () => 1, Symbol('s'), 10n),
  fc.string({ maxLength: 5000 }),
  fc.record({ type: fc.oneof(hostileString, fc.anything()), payload: fc.anything(), queue: fc.anything(), priority: fc.anything() }, { requiredKeys: [] }),
);

type Call = (s: SqliteTaskStore, a: unknown, b: unknown, c: unknown) => Promise<unknown>;
const CALLS: Record<string, Call> = {
  enqueue: (s, a) => s.enqueue(a as never),
  enqueueBatch: (s, a) => s.enqueueBatch(a as never),
  enqueueBatchOfOne: (s, a) => s.enqueueBatch([a] as never),
  claim: (s, a) => s.claim(a as never),
  claimWith: (s, a, b) => s.claim({ workerId: a, limit: b, leaseMs: 1000, strategy: fifo } as never),
  claimStrategy: (s, a) => s.claim({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: a } as never),
  heartbeat: (s, a, b, c) => s.heartbeat(a as never, b as never, c as never),
  reportProgress: (s, a, b, c) => s.reportProgress(a as never, b as never, c as never),
  complete: (s, a, b, c) => s.complete(a as never, b as never, c),
  fail: (s, a, b, c) => s.fail(a as never, b as never, c as never),
  acknowledgeCancel: (s, a, b) => s.acknowledgeCancel(a as never, b as never),
  release: (s, a, b) => s.release(a as never, b as never),
  cancel: (s, a) => s.cancel(a as never),
  retry: (s, a) => s.retry(a as never),
  get: (s, a) => s.get(a as never),
  getByIdempotencyKey: (s, a, b) => s.getByIdempotencyKey(a as never, b as never),
  list: (s, a) => s.list(a as never),
  registerWorker: (s, a) => s.registerWorker(a as never),
  touchWorker: (s, a) => s.touchWorker(a as never),
  unregisterWorker: (s, a) => s.unregisterWorker(a as never),
};

describe('bad input fuzz', () => {
  let dir: string;
  let cleanup: () => void;
  let dbPath: string;
  let store: SqliteTaskStore;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    dbPath = join(dir, 'queue.db');
    store = createSqliteTaskStore({ path: dbPath, logger: SILENT, clock: new ManualClock() });
    // A task in every state, so a wrongly accepted id or token would have something to change.
    await store.enqueueBatch([{ type: 'work' }, { type: 'work' }, { type: 'work', idempotencyKey: 'k' }, { type: 'work' }]);
    const claimed = await store.claim({ workerId: 'w', limit: 3, leaseMs: 60_000, strategy: fifo });
    await store.complete(claimed[0]!.task.id, claimed[0]!.token);
    await store.fail(claimed[1]!.task.id, claimed[1]!.token, { message: 'x', retryable: false });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('every public store function refuses bad input with a typed error and an unchanged database', async () => {
    let refused = 0;
    let accepted = 0;
    let baseline = dump(dbPath);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(CALLS)), weird, weird, weird, async (name, a, b, c) => {
        let outcome: { ok: true } | { ok: false; error: unknown };
        try {
          await CALLS[name]!(store, a, b, c);
          outcome = { ok: true };
        } catch (error) {
          outcome = { ok: false, error };
        }
        if (outcome.ok) {
          accepted++;
          baseline = dump(dbPath); // a valid call may change the database; the next refusal is compared to this
          return;
        }
        refused++;
        const e = outcome.error as Error;
        if (!(e instanceof TaskbridgeError)) throw new Error(`${name} threw an untyped ${e?.constructor?.name}: ${e?.message}`);
        expect(e.code).toMatch(/^TASKBRIDGE_[A-Z_]+$/);
        expect(e.message.length).toBeGreaterThan(0);
        expect(dump(dbPath)).toBe(baseline);
      }),
      { numRuns: 1500 },
    );
    const db = new Database(dbPath, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    report('bad input fuzz: store', { calls: refused + accepted, refusedWithTypedError: refused, accepted, crashes: 0 });
  });

  it('hostile queue, type, key and payload text is stored and read back verbatim, as data, never as SQL', async () => {
    const schema = (): string => JSON.stringify(new Database(dbPath, { readonly: true }).prepare('SELECT * FROM sqlite_master ORDER BY name').all());
    const schemaBefore = schema();
    const before = (await store.counts()).total;
    let n = 0;
    for (const text of HOSTILE) {
      const { task } = await store.enqueue({ type: text, queue: text, idempotencyKey: text, payload: { text, [text]: text } });
      n++;
      expect(await store.get(task.id)).toMatchObject({ type: text, queue: text, idempotencyKey: text, payload: { text, [text]: text } });
      expect((await store.list({ type: text, queue: text })).map((t) => t.id)).toEqual([task.id]);
      expect((await store.getByIdempotencyKey(text, text))?.id).toBe(task.id);
      const [claimed] = await store.claim({ workerId: text, queue: text, limit: 1, leaseMs: 1000, strategy: fifo, types: [text], capabilities: { [text || 'k']: text } });
      expect(claimed?.task.id).toBe(task.id);
      expect(await store.fail(task.id, claimed!.token, { message: text, retryable: false })).toBe('dead');
      expect((await store.get(task.id))?.lastError).toBe(text);
    }
    expect((await store.counts()).total).toBe(before + n);
    expect(schema()).toBe(schemaBefore);
  });

  it('a name or key with a lone surrogate (no UTF-8 form) is refused, not stored altered', async () => {
    const baseline = dump(dbPath);
    for (const field of ['type', 'queue', 'idempotencyKey']) {
      await expect(store.enqueue({ type: 'work', [field]: 'a\uD800b' })).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field });
    }
    expect(dump(dbPath)).toBe(baseline);
  });

  it('payloads: empty ones are accepted, the 1 MiB default and a configured maxPayloadBytes are enforced with a clear error', async () => {
    for (const payload of ['', {}, [], 0, false, null]) {
      const { task } = await store.enqueue({ type: 'work', payload });
      expect((await store.get(task.id))?.payload).toEqual(payload);
    }
    const baseline = dump(dbPath);
    const mib = 1024 * 1024;
    const atLimit = 'a'.repeat(mib - 2); // JSON adds the two quotes
    const over = 'a'.repeat(mib - 1);
    const err = await store.enqueue({ type: 'work', payload: over }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toBe(`Invalid payload: ${mib + 1} bytes of JSON; accepted: at most ${mib} bytes (option maxPayloadBytes)`);
    await expect(store.enqueueBatch([{ type: 'work' }, { type: 'work', payload: 'é'.repeat(mib / 2) }])).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(dump(dbPath)).toBe(baseline);
    await expect(store.enqueue({ type: 'work', payload: atLimit })).resolves.toMatchObject({ created: true });

    const small = createSqliteTaskStore({ path: join(dir, 'small.db'), logger: SILENT, maxPayloadBytes: 100 });
    try {
      await expect(small.enqueue({ type: 'work', payload: 'x'.repeat(98) })).resolves.toMatchObject({ created: true });
      await expect(small.enqueue({ type: 'work', payload: 'x'.repeat(99) })).rejects.toMatchObject({ code: 'TASKBRIDGE_PAYLOAD_TOO_LARGE', limitBytes: 100 });
      const [c] = await small.claim({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: fifo });
      await expect(small.complete(c!.task.id, c!.token, 'r'.repeat(200))).rejects.toMatchObject({ code: 'TASKBRIDGE_PAYLOAD_TOO_LARGE' });
      expect((await small.get(c!.task.id))?.status).toBe('running');
    } finally {
      await small.close();
    }
    for (const bad of [0, -1, 1.5, '1MiB', 2 ** 40]) {
      expect(() => createSqliteTaskStore({ path: join(dir, 'x.db'), maxPayloadBytes: bad as number })).toThrow(/Invalid maxPayloadBytes/);
    }
  });

  it('every CLI command refuses bad arguments with one clear line, a documented exit code and an unchanged database', async () => {
    await store.close();
    const before = dump(dbPath);
    const db = ['--db', dbPath];
    const cases: string[][] = [
      ['enqueue'], ['enqueue', 'work', '--payload', '{not json'], ['enqueue', 'work', '--priority', '-1'], ['enqueue', 'work', '--priority', '1e9'],
      ['enqueue', 'work', '--priority', "1; DROP TABLE tasks"], ['enqueue', 'work', '--delay', 'soon'], ['enqueue', 'work', '--max-attempts', '0'],
      // (An oversized payload cannot be passed on a command line: one argument is capped at 128 KiB by the OS.)
      ['enqueue', 'x'.repeat(201)], ['enqueue', ''],
      ['enqueue', 'work', '--queue', ''], ['enqueue', 'work', '--timeout', '0s'],
      ['list', '--status', "queued' OR '1'='1"], ['list', '--limit', '0'], ['list', '--limit', 'all'], ['list', '--type', 'x'.repeat(201)],
      ['show', '1 OR 1=1'], ['show', '-1'], ['show', '99999999999999999999'], ['show', '424242'],
      ['retry', "1'; --"], ['retry', '1'], ['cancel', '0'], ['cancel', '424242'], ['cancel', '1'],
      ['worker', '--handlers', 'fs'], ['worker', '--handlers', join(dir, 'missing.js')], ['worker', '--handlers', dbPath], ['worker'],
      ['worker', '--handlers', join(__dirname, 'fixtures/handlers.js'), '--strategy', "fifo'; --"],
      ['stats', '--since', 'x'], ['cleanup'], ['cleanup', '--completed-older-than', 'never'], ['restore', dbPath], ['restore', join(dir, 'nope.bak')],
      ['backup', dbPath], ['nonsense-command'], ['--db'],
    ];
    const codes: Record<string, number> = {};
    for (const args of cases) {
      const r = runCli([...db, ...args], { TASKBRIDGE_LOG_LEVEL: 'error' });
      const label = args.join(' ').slice(0, 60);
      expect({ label, status: r.status === 1 || r.status === 2 }).toEqual({ label, status: true });
      expect({ label, trace: /\n\s+at .*\(/.test(r.stderr) }).toEqual({ label, trace: false });
      expect({ label, said: r.stderr.trim().length > 0 }).toEqual({ label, said: true });
      expect({ label, same: dump(dbPath) === before }).toEqual({ label, same: true });
      codes[String(r.status)] = (codes[String(r.status)] ?? 0) + 1;
    }
    report('bad input fuzz: CLI', { commands: cases.length, exitCodes: codes, databaseChanged: 0 });
  });
});
