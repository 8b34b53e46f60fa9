import { AsyncResource } from 'node:async_hooks';

/**
 * Runs `work` on demand, never twice at once: a request made while it runs is folded into one more run
 * after it, so bursts of wake-ups cost one run each, and no wake-up is lost.
 */
export class CoalescedRun {
  private running: Promise<void> | null = null;
  private requestedAgain = false;

  private readonly work: () => Promise<void>;

  constructor(
    work: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {
    // Runs in the context it was created in (start-up), not in that of the request whose commit woke it,
    // so its log lines do not carry that request's id.
    this.work = AsyncResource.bind(work);
  }

  request(): void {
    if (this.running) {
      this.requestedAgain = true;
      return;
    }
    this.running = this.work()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.requestedAgain) {
          this.requestedAgain = false;
          this.request();
        }
      });
  }

  /** Resolves once the run in progress (if any) has finished. */
  async settled(): Promise<void> {
    await this.running;
  }
}
