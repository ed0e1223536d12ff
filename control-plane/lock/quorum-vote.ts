import type Redlock from 'redlock';

interface Vote {
  vote: 'for' | 'against';
  client: unknown;
  error?: Error;
}

interface Stats {
  membershipSize: number;
  quorumSize: number;
  votesFor: Set<unknown>;
  votesAgainst: Map<unknown, Error | undefined>;
}

interface RedlockInternals {
  clients: Set<unknown>;
  _attemptOperation(script: unknown, keys: string[], args: unknown[]): Promise<{ vote: 'for' | 'against'; stats: Promise<Stats> }>;
  _attemptOperationOnClient(client: unknown, script: unknown, keys: string[], args: unknown[]): Promise<Vote>;
}

/**
 * redlock 5.0.0-beta decides a vote "against" only once `quorum` nodes have
 * voted against. With an even number of nodes a split vote (2 nodes: one
 * for, one against; 4 nodes: two and two) reaches neither, and the attempt's
 * promise never settles: the caller hangs for ever, holding a partial lock.
 * That happens whenever a key is released or queued on one node a moment
 * before the other. The outcome is known as soon as the quorum can no longer
 * be reached (more than N − quorum against): this replaces the instance's
 * vote counting with that rule, everything else as redlock does it.
 */
export function decideWhenQuorumIsOutOfReach(redlock: Redlock): void {
  const r = redlock as unknown as RedlockInternals;
  r._attemptOperation = (script, keys, args) =>
    new Promise((resolve, reject) => {
      const clients = [...r.clients];
      const stats: Stats = { membershipSize: clients.length, quorumSize: Math.floor(clients.length / 2) + 1, votesFor: new Set(), votesAgainst: new Map() };
      let allIn!: () => void;
      const statsPromise = new Promise<Stats>((done) => (allIn = () => done(stats)));
      let decided = false;
      const decide = (vote: 'for' | 'against') => {
        if (decided) return;
        decided = true;
        resolve({ vote, stats: statsPromise });
      };
      for (const client of clients) {
        r._attemptOperationOnClient(client, script, keys, args).then((result) => {
          if (result.vote === 'for') stats.votesFor.add(result.client);
          else stats.votesAgainst.set(result.client, result.error);
          if (stats.votesFor.size >= stats.quorumSize) decide('for');
          else if (stats.votesAgainst.size > stats.membershipSize - stats.quorumSize) decide('against');
          if (stats.votesFor.size + stats.votesAgainst.size === stats.membershipSize) allIn();
        }, reject); // redlock turns every node error into a vote: a rejection here is a bug, surfaced to the caller
      }
    });
}
