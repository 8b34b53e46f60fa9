import type { ExpiryService } from '../services/expiry.service';

/**
 * Looks for grant expiries and trial ends every `intervalMs` on every replica; the service makes sure each
 * is recorded once. Half a second keeps the push within the contract's 2 seconds.
 */
export function startExpirySweeper(
  expiries: ExpiryService,
  options: { intervalMs: number; onError: (error: unknown) => void },
): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = expiries
      .recordDue()
      .catch(options.onError)
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
