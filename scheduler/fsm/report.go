package fsm

import "github.com/phalanx-sched/phalanx/api"

// AllocUpdate is written in binary under CmdReport (see wire.go), in JSON
// under CmdAllocUpdate, which older leaders wrote.

func (c *AllocUpdate) appendBinary(w *writer) {
	w.len(len(c.Updates))
	for _, u := range c.Updates {
		w.str(u.ID)
		w.str(u.NodeID)
		w.str(string(u.State))
		w.flag(u.ExitCode != nil)
		if u.ExitCode != nil {
			w.int(int64(*u.ExitCode))
		}
		w.str(u.Message)
		w.time(u.Time)
	}
}

func (c *AllocUpdate) readBinary(r *reader) {
	c.Updates = makeN[api.AllocUpdate](r.len())
	for i := range c.Updates {
		u := &c.Updates[i]
		u.ID = r.str()
		u.NodeID = r.str()
		u.State = api.AllocState(r.str())
		if r.flag() {
			code := int(r.int())
			u.ExitCode = &code
		}
		u.Message = r.str()
		u.Time = r.time()
	}
}
