// A coordination.k8s.io Lease per job and namespace, so an ad hoc run
// (`kubectl create job --from=cronjob/...`) never overlaps the scheduled one. The holder renews
// it while it works; a crashed holder's lease expires after its duration and can be taken over.

import { AlreadyExistsError, ConflictError, NotFoundError } from './errors.js';
import type { KubeClient } from './client.js';
import type { Lease, ObjectRef } from './types.js';
import { realTimer, type Timer } from '../util/timer.js';
import { ExitCode } from '../exit.js';

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  readonly exitCode = ExitCode.refused;
  constructor(
    readonly lease: ObjectRef,
    readonly holder: string,
    readonly expiresAt: Date,
  ) {
    super(`another run holds lease ${lease.namespace}/${lease.name} (holder "${holder}", until ${expiresAt.toISOString()}); not starting a second one`);
  }
}

export type LeaseClient = Pick<KubeClient, 'getLease' | 'createLease' | 'replaceLease' | 'deleteLease'>;

export interface LeaseLockOptions {
  ref: ObjectRef;
  holder: string;
  durationSeconds: number;
  timer?: Timer;
  /** Told when a renewal fails; the run goes on (the lease only protects against overlap). */
  onRenewError?: (err: unknown) => void;
}

export class LeaseLock {
  private current: Lease | undefined;
  private renewing: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly timer: Timer;

  constructor(
    private readonly client: LeaseClient,
    private readonly options: LeaseLockOptions,
  ) {
    this.timer = options.timer ?? realTimer;
  }

  /** Takes the lease, or throws LockHeldError while another live holder has it. */
  async acquire(): Promise<void> {
    const { ref, holder, durationSeconds } = this.options;
    const now = new Date(this.timer.now()).toISOString();
    let existing: Lease | undefined;
    try {
      existing = await this.client.getLease(ref);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const spec = { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now };
    try {
      if (!existing) {
        this.current = await this.client.createLease({ metadata: { name: ref.name, namespace: ref.namespace }, spec: { ...spec, leaseTransitions: 0 } });
      } else {
        const held = existing.spec?.holderIdentity;
        const expires = leaseExpiry(existing);
        if (held && held !== holder && expires.getTime() > this.timer.now()) throw new LockHeldError(ref, held, expires);
        this.current = await this.client.replaceLease({ ...existing, spec: { ...spec, leaseTransitions: (existing.spec?.leaseTransitions ?? 0) + 1 } });
      }
    } catch (err) {
      // Someone else created or took it between our read and our write.
      if (err instanceof AlreadyExistsError || err instanceof ConflictError) {
        const winner = await this.client.getLease(ref);
        throw new LockHeldError(ref, winner.spec?.holderIdentity ?? 'unknown', leaseExpiry(winner));
      }
      throw err;
    }
    this.renewing = this.renewLoop();
  }

  private async renewLoop(): Promise<void> {
    const intervalMs = (this.options.durationSeconds * 1000) / 3;
    while (!this.stop.signal.aborted) {
      await this.timer.sleep(intervalMs, this.stop.signal);
      if (this.stop.signal.aborted || !this.current) return;
      try {
        const renewTime = new Date(this.timer.now()).toISOString();
        this.current = await this.client.replaceLease({ ...this.current, spec: { ...this.current.spec, renewTime } });
      } catch (err) {
        this.options.onRenewError?.(err);
      }
    }
  }

  /** Stops renewing and deletes the lease if it is still ours. */
  async release(): Promise<void> {
    this.stop.abort();
    await this.renewing;
    const lease = this.current;
    this.current = undefined;
    if (!lease) return;
    try {
      await this.client.deleteLease(this.options.ref, { uid: lease.metadata.uid, resourceVersion: lease.metadata.resourceVersion });
    } catch (err) {
      // Taken over after we stalled: it is no longer ours to delete.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

function leaseExpiry(lease: Lease): Date {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '') || 0;
  return new Date(renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000);
}
