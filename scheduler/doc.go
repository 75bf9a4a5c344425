// Package scheduler is Phalanx's pure placement core: given a snapshot of
// nodes, live allocations and the work still to place, Schedule returns a
// Plan that says, for every job it could place, which node and which exact
// GPUs each member gets, and for every job it could not, why.
//
// The contract:
//
//   - Schedule is a pure function of its Input. It does no IO, never reads
//     the clock (the caller passes Input.Now), draws no random numbers,
//     starts no goroutines and never lets map iteration order decide
//     anything. The same Input, in any slice order, gives the same Plan,
//     bit for bit. The leader, `phalanx sim` and the tests run the same code.
//   - Schedule never mutates its Input.
//   - "Does not fit" is an answer, not an error: every job with members
//     that were not placed gets a Pending entry with a human-readable reason
//     ("0/3 nodes fit: 2 too few free GPUs, 1 not enough memory").
//   - Work is ordered by queue (weighted dominant-resource fair share),
//     then priority capped at the queue's MaxPriority, then age; quotas and
//     (without Borrow) fair shares cap what a queue takes. PolicyFIFO
//     orders by submit time and lets the first misfit block the rest.
//   - A gang job (Spec.Gang) is placed whole or not at all. Its rank 0, if
//     it has more than one member, also holds its node's lowest free host
//     port (Placement.Ports), the rendezvous port every member gets as
//     MASTER_PORT; a node with no free port in its range does not fit it.
//   - A member goes to a ready node its job's NodeSelector allows (and, in
//     a Spread group, not holding another member), the best fit by an
//     integer score: fewest stranded GPUs, fewest free GPUs left, least
//     CPU and memory left, lowest ID.
//   - A member takes free GPUs of its node inside one NVLink domain when the
//     node reports NVLink peers and a domain has enough (the one with the
//     fewest, so large domains stay whole), and otherwise the lowest free
//     indices. Topology never makes a member not fit.
//   - A job that does not fit may wait for stopping allocations, evict
//     running jobs (Plan.Evictions: whole jobs, least work lost, only if it
//     then fits; it is placed by a later call) or get a reservation
//     (Plan.Reservations); nothing placed in the same plan can delay a
//     reservation, except work whose walltime ends before it begins.
//   - The plan is a proposal. The leader re-checks it against the latest
//     state before committing it through Raft; NodeUsage, Usage.Add,
//     CheckPlacement and NeedsRendezvousPort are the check, shared so that
//     plan and re-check agree on what fits.
//   - Missing says which members of a job need a node now, from the job and
//     all of its allocations; its output is what JobRequest.Members expects.
//
// The package imports only the standard library and package api.
package scheduler
