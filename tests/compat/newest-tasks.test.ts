import { NewestTasks } from '../../src/compat/newest-tasks';

describe('NewestTasks: which task of a run id is a new run', () => {
  it('a task is a new run only when it is newer than every task of its id seen here', () => {
    const newest = new NewestTasks(() => true);
    expect(newest.seen('r', 5)).toBe(false);
    newest.note('r', 5);
    expect(newest.seen('r', 5)).toBe(true);
    expect(newest.seen('r', 4)).toBe(true);
    expect(newest.seen('r', 6)).toBe(false);
    // Noting an older task (a superseded one adopted late) never lowers the mark.
    newest.note('r', 3);
    expect(newest.seen('r', 5)).toBe(true);
    expect(newest.seen('other', 1)).toBe(false);
  });

  it('forgets run ids the registry removed once it has doubled, and keeps the rest', () => {
    const recorded = new Set<string>();
    const newest = new NewestTasks((runId) => recorded.has(runId));
    // 1,023 ids the registry has since removed, then one it keeps: the 1,024th note prunes.
    for (let i = 0; i < 1023; i += 1) newest.note(`gone-${i}`, i + 1);
    recorded.add('kept');
    newest.note('kept', 5000);
    expect(newest.seen('gone-0', 1)).toBe(false);
    expect(newest.seen('gone-1022', 1023)).toBe(false);
    expect(newest.seen('kept', 5000)).toBe(true);
  });
});
