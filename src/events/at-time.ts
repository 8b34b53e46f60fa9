/** setTimeout's ceiling; a later moment is reached by waiting again. */
const MAX_TIMER_MS = 2_147_483_647;

/** The tasks due at each moment, with the one timer that waits for it: thousands of sockets of one token share it. */
const due = new Map<number, { tasks: Set<() => void>; timer: NodeJS.Timeout }>();

/** Runs `task` once `at` has come, however far away it is (never synchronously); returns the way to cancel it. */
export function atTime(at: Date, task: () => void): () => void {
  const moment = at.getTime();
  let entry = due.get(moment);
  if (!entry) {
    entry = { tasks: new Set(), timer: wait(moment) };
    due.set(moment, entry);
  }
  entry.tasks.add(task);
  const { tasks } = entry;
  return () => {
    tasks.delete(task);
    if (tasks.size === 0 && due.get(moment)?.tasks === tasks) {
      clearTimeout(due.get(moment)!.timer);
      due.delete(moment);
    }
  };
}

function wait(moment: number): NodeJS.Timeout {
  const timer = setTimeout(
    () => {
      const entry = due.get(moment);
      if (!entry) return;
      if (Date.now() < moment) {
        entry.timer = wait(moment);
        return;
      }
      due.delete(moment);
      for (const task of entry.tasks) task();
    },
    Math.min(Math.max(moment - Date.now(), 0), MAX_TIMER_MS),
  );
  timer.unref();
  return timer;
}
