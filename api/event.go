package api

import "time"

// JobEvent is something that happened to a job that its owner should be
// able to see later: a preemption, a walltime stop.
type JobEvent struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
}

// Kinds of job events.
const (
	EventPreempted = "preempted"
	EventWalltime  = "walltime"
)

// MaxJobEvents is how many events a job keeps; older ones are dropped.
const MaxJobEvents = 20

// AddEvent appends an event to j, dropping the oldest beyond MaxJobEvents.
// It copies the list, so a stored job's events are never changed in place.
func (j *Job) AddEvent(e JobEvent) {
	events := make([]JobEvent, 0, min(len(j.Events)+1, MaxJobEvents))
	if drop := len(j.Events) + 1 - MaxJobEvents; drop > 0 {
		events = append(events, j.Events[drop:]...)
	} else {
		events = append(events, j.Events...)
	}
	j.Events = append(events, e)
}
