package fsm

import (
	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/wire"
)

// AllocUpdate is written in binary under CmdReport (see wire.go), in JSON
// under CmdAllocUpdate, which older leaders wrote.

func (c *AllocUpdate) appendBinary(w *wire.Writer) {
	w.Len(len(c.Updates))
	for _, u := range c.Updates {
		w.Str(u.ID)
		w.Str(u.NodeID)
		w.Str(string(u.State))
		w.Flag(u.ExitCode != nil)
		if u.ExitCode != nil {
			w.Int(int64(*u.ExitCode))
		}
		w.Str(u.Message)
		w.Time(u.Time)
	}
}

func (c *AllocUpdate) readBinary(r *wire.Reader) {
	c.Updates = wire.List[api.AllocUpdate](r.Len())
	for i := range c.Updates {
		u := &c.Updates[i]
		u.ID = r.Str()
		u.NodeID = r.Str()
		u.State = api.AllocState(r.Str())
		if r.Flag() {
			code := int(r.Int())
			u.ExitCode = &code
		}
		u.Message = r.Str()
		u.Time = r.Time()
	}
}
