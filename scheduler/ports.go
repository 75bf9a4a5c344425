package scheduler

import (
	"slices"

	"github.com/phalanx-sched/phalanx/api"
)

// NeedsRendezvousPort reports whether member m of job reserves a host port
// on its node: it is rank 0 (the first task of the first group) of a gang
// of more than one member, and every member is handed the port as
// MASTER_PORT. Schedule reserves the port and CheckPlacement's callers use
// this rule to demand one.
func NeedsRendezvousPort(job *api.Job, m Member) bool {
	return job.Spec.Gang && m.GroupIndex == 0 && m.Index == 0 && job.Members() > 1
}

// offersPorts reports whether r holds any port. The zero range, and any
// range that is empty or starts at port 0, offers none.
func offersPorts(r api.PortRange) bool {
	return r.Min > 0 && r.Min <= r.Max
}

// inRange reports whether port is one that r offers.
func inRange(r api.PortRange, port int) bool {
	return offersPorts(r) && port >= r.Min && port <= r.Max
}

// freePort returns the lowest port in the node's range that nothing
// holds and, unless raw, no reservation holds either, or 0 when there is
// none. It takes O(held and reserved ports).
func (s *nodeState) freePort(raw bool) int {
	if !offersPorts(s.node.Ports) {
		return 0
	}
	p := s.node.Ports.Min
	h, r := 0, 0
	for p <= s.node.Ports.Max {
		for h < len(s.heldPorts) && s.heldPorts[h] < p {
			h++
		}
		for r < len(s.resPorts) && s.resPorts[r] < p {
			r++
		}
		if h < len(s.heldPorts) && s.heldPorts[h] == p || !raw && r < len(s.resPorts) && s.resPorts[r] == p {
			p++
			continue
		}
		return p
	}
	return 0
}

// reservePort keeps port for a reservation: work that respects
// reservations is not handed it.
func (s *nodeState) reservePort(port int) {
	if k, found := slices.BinarySearch(s.resPorts, port); !found {
		s.resPorts = slices.Insert(s.resPorts, k, port)
	}
}

// holdPort marks port held. Ports outside the node's range are not
// tracked: freePort never hands them out.
func (s *nodeState) holdPort(port int) {
	if !inRange(s.node.Ports, port) {
		return
	}
	if k, found := slices.BinarySearch(s.heldPorts, port); !found {
		s.heldPorts = slices.Insert(s.heldPorts, k, port)
	}
}

// releasePort reverses holdPort.
func (s *nodeState) releasePort(port int) {
	if k, found := slices.BinarySearch(s.heldPorts, port); found {
		s.heldPorts = slices.Delete(s.heldPorts, k, k+1)
	}
}
