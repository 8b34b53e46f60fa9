/** setTimeout's ceiling; a later moment is reached by waiting again. */
const MAX_TIMER_MS = 2_147_483_647;

/** Runs `task` once `at` has come, however far away it is (never synchronously); returns the way to cancel it. */
export function atTime(at: Date, task: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const remaining = at.getTime() - Date.now();
    timer = setTimeout(
      () => (Date.now() >= at.getTime() ? task() : arm()),
      Math.min(Math.max(remaining, 0), MAX_TIMER_MS),
    );
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
