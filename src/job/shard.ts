// Splits objects between the pods of an Indexed Job (`--shard-index/--shard-count`) so that N
// pods sweep N disjoint shards whose union is every object, with no coordinator.

export class InvalidShardError extends Error {
  override name = 'InvalidShardError';
}

// A task's archives must land in the task's shard: the planner deletes archives together with
// their task, so the pod that plans the task's delete has to observe them. Hashing the task id
// instead of the whole name gives `task-{id}-state` and every `task-{id}-state-archive-{n}` the
// same shard. The match is greedy, so ids that themselves contain `-state` are kept whole.
const TASK_NAME = /^task-(.+)-state(?:-archive-\d+)?$/;

/** What is hashed: the task id for task states and their archives, the whole name otherwise. */
export function shardKey(name: string): string {
  return TASK_NAME.exec(name)?.[1] ?? name;
}

/**
 * FNV-1a, 32 bit, over the UTF-8 bytes of `text`: simple to reproduce in any language, and stable
 * across releases, which matters because a shard assignment must not move between pods of one run.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard (0 ≤ shard < shardCount) an object belongs to, by its name. */
export function shardOf(name: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new InvalidShardError(`invalid shard count ${shardCount}: use a whole number of 1 or more`);
  }
  return fnv1a32(shardKey(name)) % shardCount;
}

/** True when the object named `name` belongs to shard `shardIndex` of `shardCount`. */
export function inShard(name: string, shardIndex: number, shardCount: number): boolean {
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardCount) {
    throw new InvalidShardError(`invalid shard index ${shardIndex}: use 0 to ${shardCount - 1} for ${shardCount} shards`);
  }
  return shardOf(name, shardCount) === shardIndex;
}
