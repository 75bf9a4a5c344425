package fsm

import (
	"fmt"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// RepoPut adds a repo or replaces the one with its name. On a replace, an
// empty WebhookSecret or Token keeps the old one.
type RepoPut struct {
	Repo api.Repo `json:"repo"`
}

// RepoDelete removes a repo and its secrets; its runs stay, as history.
type RepoDelete struct {
	Name string `json:"name"`
}

// SecretPut sets one secret of a repo.
type SecretPut struct {
	Secret api.Secret `json:"secret"`
}

// SecretDelete removes one secret of a repo.
type SecretDelete struct {
	Repo string `json:"repo"`
	Name string `json:"name"`
}

// RunCreate records a new run, queued until its pipeline file is read,
// and, when DeliveryID is set, the webhook delivery that started it, in
// one entry: a delivery seen before creates nothing and the response
// names the run it created then.
type RunCreate struct {
	Run api.Run `json:"run"`
}

// RunCreated is RunCreate's response.
type RunCreated struct {
	RunID     string
	Duplicate bool
}

// RunCompile records what reading and compiling a run's pipeline file
// gave: its steps, or State error (or skipped: the event does not trigger
// the pipeline) with Message saying why.
type RunCompile struct {
	RunID            string            `json:"run_id"`
	State            api.RunState      `json:"state"`
	Message          string            `json:"message,omitempty"`
	Queue            string            `json:"queue,omitempty"`
	ConcurrencyGroup string            `json:"concurrency_group,omitempty"`
	CancelInProgress bool              `json:"cancel_in_progress,omitempty"`
	Steps            []api.RunStep     `json:"steps,omitempty"`
	Dropped          []api.DroppedStep `json:"dropped,omitempty"`
	Time             time.Time         `json:"time"`
}

// RunAdvance is one decision of the leader's run controller: the run as it
// is now to be, the step jobs to register, and the jobs to cancel. It
// applies only if the run is still at ModifyIndex, the version the
// decision was made on; otherwise nothing changes and the controller
// decides again.
type RunAdvance struct {
	Run         api.Run   `json:"run"`
	ModifyIndex uint64    `json:"modify_index"`
	Jobs        []api.Job `json:"jobs,omitempty"`
	Cancel      []string  `json:"cancel,omitempty"`
	Time        time.Time `json:"time"`
}

// RunCancel cancels a run that has not finished: its unfinished steps are
// cancelled and their jobs stopped.
type RunCancel struct {
	RunID  string    `json:"run_id"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

func applyRepoPut(tx *state.Txn, c *RepoPut) error {
	r := c.Repo
	if r.Name == "" {
		return fmt.Errorf("repo has no name: %w", api.ErrInvalid)
	}
	r.CreateIndex, r.ModifyIndex = 0, 0
	if old, err := tx.Repo(r.Name); err == nil {
		r.CreateIndex = old.CreateIndex
		if r.WebhookSecret == "" {
			r.WebhookSecret = old.WebhookSecret
		}
		if r.Token == "" {
			r.Token = old.Token
		}
	}
	return tx.PutRepo(&r)
}

func applyRepoDelete(tx *state.Txn, c *RepoDelete) error {
	return tx.DeleteRepo(c.Name)
}

func applySecretPut(tx *state.Txn, c *SecretPut) error {
	if _, err := tx.Repo(c.Secret.Repo); err != nil {
		return err
	}
	sec := c.Secret
	sec.CreateIndex, sec.ModifyIndex = 0, 0
	if old, err := tx.Secret(sec.Repo, sec.Name); err == nil {
		sec.CreateIndex = old.CreateIndex
	}
	return tx.PutSecret(&sec)
}

func applySecretDelete(tx *state.Txn, c *SecretDelete) error {
	return tx.DeleteSecret(c.Repo, c.Name)
}

func applyRunCreate(tx *state.Txn, c *RunCreate) (*RunCreated, error) {
	r := c.Run
	if d := r.DeliveryID; d != "" {
		if old, err := tx.Delivery(d); err == nil {
			return &RunCreated{RunID: old.RunID, Duplicate: true}, nil
		}
	}
	if _, err := tx.Repo(r.Repo); err != nil {
		return nil, err
	}
	if _, err := tx.Run(r.ID); err == nil {
		return nil, fmt.Errorf("run %s already exists: %w", r.ID, ErrConflict)
	}
	r.State, r.Compiled, r.Steps = api.RunQueued, false, nil
	if r.Message == "" {
		r.Message = "reading the pipeline file"
	}
	if r.DeliveryID != "" {
		if err := tx.PutDelivery(&api.Delivery{ID: r.DeliveryID, RunID: r.ID}); err != nil {
			return nil, err
		}
	}
	return &RunCreated{RunID: r.ID}, tx.PutRun(&r)
}

func applyRunCompile(tx *state.Txn, c *RunCompile) error {
	old, err := tx.Run(c.RunID)
	if err != nil {
		return err
	}
	if old.Compiled || old.State.Terminal() {
		return nil // compiled already (a second leader's attempt), or cancelled
	}
	r := old.Clone()
	r.Compiled, r.State, r.Message = true, c.State, c.Message
	r.Queue, r.ConcurrencyGroup, r.CancelInProgress = c.Queue, c.ConcurrencyGroup, c.CancelInProgress
	r.Steps, r.Dropped = c.Steps, c.Dropped
	if r.State.Terminal() {
		r.FinishTime = c.Time
	}
	return tx.PutRun(r)
}

func applyRunAdvance(tx *state.Txn, c *RunAdvance) error {
	old, err := tx.Run(c.Run.ID)
	if err != nil {
		return err
	}
	if old.ModifyIndex != c.ModifyIndex || old.State.Terminal() {
		return nil // decided on an older version: the controller decides again
	}
	for _, j := range c.Jobs {
		if _, err := tx.Job(j.ID); err == nil {
			continue // registered by an earlier decision
		}
		if _, err := applyJobRegister(tx, &JobRegister{Job: j}); err != nil {
			return err
		}
	}
	for _, id := range c.Cancel {
		if err := cancelJob(tx, id, c.Time, "run "+old.ID+" cancelled"); err != nil {
			return err
		}
	}
	r := c.Run.Clone()
	r.CreateIndex, r.ModifyIndex = old.CreateIndex, old.ModifyIndex
	return tx.PutRun(r)
}

func applyRunCancel(tx *state.Txn, c *RunCancel) error {
	old, err := tx.Run(c.RunID)
	if err != nil {
		return err
	}
	if old.State.Terminal() {
		return fmt.Errorf("run %s is already %s: %w", old.ID, old.State, ErrConflict)
	}
	r := old.Clone()
	r.State, r.Message, r.FinishTime = api.RunCancelled, c.Reason, c.Time
	for i := range r.Steps {
		st := &r.Steps[i]
		if st.State.Terminal() {
			continue
		}
		if id := st.JobID(); id != "" {
			if err := cancelJob(tx, id, c.Time, c.Reason); err != nil {
				return err
			}
		}
		st.State, st.Reason, st.FinishTime = api.RunCancelled, c.Reason, c.Time
	}
	return tx.PutRun(r)
}

// cancelJob cancels a job unless it has finished.
func cancelJob(tx *state.Txn, id string, now time.Time, why string) error {
	j, err := tx.Job(id)
	if err != nil || j.State.Terminal() {
		return nil
	}
	if err := applyJobCancel(tx, &JobCancel{JobID: id, Time: now}); err != nil {
		return err
	}
	j, _ = tx.Job(id)
	c := *j
	c.Reason = why
	return tx.PutJob(&c)
}
