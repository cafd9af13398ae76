/**
 * How often compat renews the leases it holds outside a queue Worker (the shadow mirror's rows, runs
 * taken over on rollback), and so how soon a cancellation requested from another process is seen:
 * a third of the lease, as the Worker's heartbeat, so two renewals can fail before the lease runs out.
 */
export function leaseRenewIntervalMs(leaseMs: number): number {
  return Math.max(10, Math.floor(leaseMs / 3));
}
