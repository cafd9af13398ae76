import fs from 'node:fs';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { runJson, toRollbackJournal, useWorkspace } from './helpers';

/**
 * A queue file whose schema page is intact but whose task pages are damaged: the header check and
 * the open pass, the reads of the rows do not. The reading commands must name the file with the
 * documented TASKBRIDGE_NOT_A_DATABASE, not SQLite's raw "database disk image is malformed".
 */
describe('taskbridge list, show and stats on a database damaged past its first page', () => {
  const ws = useWorkspace();

  async function damagedQueue(): Promise<void> {
    const store = createSqliteTaskStore({ path: ws.db });
    await store.enqueueBatch(Array.from({ length: 30 }, (_, i) => ({ type: 'email', payload: { pad: 'x'.repeat(2000), i } })));
    await store.close();
    toRollbackJournal(ws.db);
    const bytes = fs.readFileSync(ws.db);
    bytes.fill(0xab, bytes.readUInt16BE(16) * 2);
    fs.writeFileSync(ws.db, bytes);
  }

  it.each([[['list']], [['show', '1']], [['stats']]])('%j is refused with a typed error naming the file', async (command) => {
    await damagedQueue();
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...command]);
    expect({ code: result.code, error: result.json.error?.code }).toEqual({ code: 1, error: 'TASKBRIDGE_NOT_A_DATABASE' });
    expect(result.json.error.message).toContain(ws.db);
  });
});
