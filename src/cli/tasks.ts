import { Option, type Command } from 'commander';
import { TaskNotFoundError } from '../core/errors';
import { TASK_STATUSES, type EnqueueRequest, type Task, type TaskStatus } from '../queue/types';
import {
  ReportedFailure,
  contextOf,
  parseDurationArg,
  parseIntInRange,
  parseNonBlankArg,
  parseNonNegativeInt,
  parsePositiveInt,
  parseTaskId,
  printJson,
  printLines,
  type CommandContext,
} from './common';
import { parsePayloadArg, parseRequirementArg, parseRunAtArg, readPayloadFile, refuseTogether } from './enqueue-args';
import { formatDuration, formatInstant, keyValues, table, truncate } from './format';
import { withReadOnlyQueue } from './read-only';
import { withServices } from './store';

interface EnqueueFlags {
  payload?: unknown;
  payloadFile?: string;
  priority?: number;
  delay?: number;
  runAt?: number;
  requires?: Record<string, string>;
  queue?: string;
  key?: string;
  maxAttempts?: number;
  timeout?: number;
}

/** Registers `enqueue`, `list`, `show`, `retry` and `cancel`. */
export function registerTaskCommands(program: Command): void {
  program
    .command('enqueue')
    .description('add a task to the queue (an existing task is returned when --key was used before)')
    .argument('<type>', 'task type: selects the handler')
    .option('--payload <json>', 'task payload as JSON', parsePayloadArg)
    .option('--payload-file <path>', 'read the JSON payload from this file (- for stdin), instead of --payload', parseNonBlankArg('a file path, or - for stdin'))
    .option('--priority <n>', 'integer 0..1000000, lower runs first under the priority strategy', parseNonNegativeInt)
    .option('--delay <duration>', 'run no earlier than now + duration, e.g. 30s, 5m, 2h', parseDurationArg)
    .option('--run-at <time>', 'run no earlier than this instant: ISO 8601 with a zone (2026-11-23T10:00:00Z) or epoch ms; instead of --delay', parseRunAtArg)
    .option('--requires <key=value>', 'a worker capability the task needs (repeatable); only workers offering every pair claim it', parseRequirementArg)
    .option('--queue <name>', 'queue name (default: default)')
    .option('--key <key>', 'idempotency key, unique within the queue')
    .option('--max-attempts <n>', 'attempts before the task is dead (default 3)', parsePositiveInt)
    .option('--timeout <duration>', 'per-attempt time limit, e.g. 30s', parseDurationArg)
    .action(async (type: string, flags: EnqueueFlags, command: Command) => {
      const ctx = contextOf(command);
      refuseTogether('--payload', flags.payload, '--payload-file', flags.payloadFile);
      refuseTogether('--delay', flags.delay, '--run-at', flags.runAt === undefined ? undefined : new Date(flags.runAt));
      const request: EnqueueRequest = { type };
      // Read before the store opens: a refused file leaves no database behind, and nothing stored.
      if (flags.payloadFile !== undefined) request.payload = await readPayloadFile(flags.payloadFile);
      if (flags.payload !== undefined) request.payload = flags.payload;
      if (flags.priority !== undefined) request.priority = flags.priority;
      if (flags.delay !== undefined) request.delay = flags.delay;
      if (flags.runAt !== undefined) request.runAt = flags.runAt;
      if (flags.requires !== undefined) request.requires = flags.requires;
      if (flags.queue !== undefined) request.queue = flags.queue;
      if (flags.key !== undefined) request.idempotencyKey = flags.key;
      if (flags.maxAttempts !== undefined) request.maxAttempts = flags.maxAttempts;
      if (flags.timeout !== undefined) request.timeout = flags.timeout;
      const { task, created } = await withServices(ctx, ({ store }) => store.enqueue(request), { create: true });
      if (ctx.json) return printJson({ created, task });
      printLines(
        created
          ? `enqueued task ${task.id} (type ${task.type}, queue ${task.queue}, priority ${task.priority}, runs after ${formatInstant(task.runAfter)})`
          : `task ${task.id} already exists for key ${JSON.stringify(task.idempotencyKey)} in queue ${task.queue} (status ${task.status}); nothing enqueued`,
      );
    });

  program
    .command('list')
    .description('list tasks, newest first')
    .addOption(new Option('--status <status>', 'only tasks with this status').choices(TASK_STATUSES))
    .option('--type <type>', 'only tasks of this type')
    .option('--queue <name>', 'only tasks of this queue')
    .option('--limit <n>', 'at most this many tasks, 1..10000', parseIntInRange(1, 10_000), 50)
    .action(async (flags: { status?: TaskStatus; type?: string; queue?: string; limit: number }, command: Command) => {
      const ctx = contextOf(command);
      const tasks = await withReadOnlyQueue(ctx, (queue) =>
        queue.list({ status: flags.status, type: flags.type, queue: flags.queue, limit: flags.limit }),
      );
      if (ctx.json) return printJson({ tasks });
      if (tasks.length === 0) return printLines('no tasks match');
      printLines(
        table(
          ['ID', 'QUEUE', 'TYPE', 'STATUS', 'ATTEMPTS', 'PRIORITY', 'CREATED', 'DURATION', 'ERROR'],
          tasks.map((t) => [t.id, truncate(t.queue, NAME_COLUMNS), truncate(t.type, NAME_COLUMNS), statusLabel(t), `${t.attempts}/${t.maxAttempts}`, t.priority, formatInstant(t.createdAt), duration(t), truncate(oneLine(t.lastError), 50)]),
        ),
      );
    });

  taskIdCommand(program, 'show', 'show one task with its payload, result, progress and last error', async (id, ctx) => {
    const task = await withReadOnlyQueue(ctx, (queue) => queue.get(id));
    if (task === undefined) throw new TaskNotFoundError(id);
    if (ctx.json) return printJson({ task });
    printLines(describeTask(task));
  });

  taskIdCommand(program, 'retry', 'requeue a dead (failed) or cancelled task with a fresh attempt budget', async (id, ctx) => {
    const task = await withServices(ctx, ({ store }) => store.retry(id));
    if (ctx.json) return printJson({ task });
    printLines(`task ${task.id} requeued (type ${task.type}, queue ${task.queue}, attempts reset to ${task.attempts}/${task.maxAttempts})`);
  });

  taskIdCommand(program, 'cancel', 'cancel a queued task at once, or ask a running one to stop (exit 1 when already finished)', async (id, ctx) => {
    const outcome = await withServices(ctx, ({ store }) => store.cancel(id));
    if (outcome === 'not-found') throw new TaskNotFoundError(id);
    if (ctx.json) printJson({ id, outcome });
    else {
      const text = {
        cancelled: `task ${id} cancelled`,
        'cancel-requested': `task ${id} is running: cancellation requested, its worker stops it at the next heartbeat`,
        'already-finished': `task ${id} already finished; nothing to cancel`,
      }[outcome];
      (outcome === 'already-finished' ? process.stderr : process.stdout).write(`${text}\n`);
    }
    if (outcome === 'already-finished') throw new ReportedFailure();
  });
}

/** Registers `name <id>`, a command on one task: show, retry and cancel take and check the id alike. */
function taskIdCommand(program: Command, name: string, description: string, action: (id: number, ctx: CommandContext) => Promise<void>): void {
  program
    .command(name)
    .description(description)
    .argument('<id>', 'task id', parseTaskId)
    .action(async (id: number, _flags: unknown, command: Command) => action(id, contextOf(command)));
}

// Names may be 200 characters: one such name would widen every row past any terminal. `show` and
// --json keep them whole.
const NAME_COLUMNS = 40;

/** An error message with its line breaks and runs of spaces as single spaces, for a table cell. */
function oneLine(text: string | null): string | null {
  return text === null ? null : text.replace(/\s+/g, ' ');
}

function statusLabel(task: Task): string {
  return task.cancelRequested && task.status === 'running' ? 'running (cancel requested)' : task.status;
}

function duration(task: Task): string {
  if (task.startedAt === null) return '-';
  const end = task.finishedAt?.getTime() ?? Date.now();
  return formatDuration(end - task.startedAt.getTime());
}

function describeTask(t: Task): string {
  const json = (v: unknown): string => (v === null || v === undefined ? '-' : JSON.stringify(v));
  return keyValues([
    ['id', t.id],
    ['queue', t.queue],
    ['type', t.type],
    ['status', statusLabel(t)],
    ['priority', t.priority],
    ['attempts', `${t.attempts}/${t.maxAttempts}`],
    ['created', formatInstant(t.createdAt)],
    ['run after', formatInstant(t.runAfter)],
    ['started', formatInstant(t.startedAt)],
    ['finished', formatInstant(t.finishedAt)],
    ['duration', duration(t)],
    ['lease', t.leaseOwner === null ? '-' : `${t.leaseOwner} until ${formatInstant(t.leaseExpiresAt)} (token ${t.leaseToken})`],
    ['idempotency key', t.idempotencyKey],
    ['requires', t.requires === null ? '-' : json(t.requires)],
    ['timeout', t.timeoutMs === null ? '-' : formatDuration(t.timeoutMs)],
    ['progress', json(t.progress)],
    ['payload', json(t.payload)],
    ['result', json(t.result)],
    ['last error', t.lastError],
  ]);
}
