package state

import (
	"fmt"
	"sort"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// Dump returns every object of the snapshot, as Restore takes them.
func (s *Snapshot) Dump() Dump {
	d := Dump{Jobs: s.Jobs(), Nodes: s.Nodes(), Servers: s.Servers(), Repos: s.Repos(), Runs: s.Runs("")}
	for _, j := range d.Jobs {
		d.Allocs = append(d.Allocs, s.JobAllocs(j.ID)...)
	}
	d.Secrets = all[api.Secret](s, tableSecrets)
	d.Deliveries = all[api.Delivery](s, tableDeliveries)
	d.Queues = s.Queues()
	return d
}

func all[T any](s *Snapshot, table string) []*T {
	var out []*T
	iter, _ := s.txn.Get(table, "id")
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*T))
	}
	return out
}

// Repo returns the repo called name.
func (s *Snapshot) Repo(name string) (*api.Repo, error) {
	raw, err := s.txn.First(tableRepos, "id", name)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("repo %q: %w", name, ErrNotFound)
	}
	return raw.(*api.Repo), nil
}

// Repos returns every repo, by name.
func (s *Snapshot) Repos() []*api.Repo { return all[api.Repo](s, tableRepos) }

// Secret returns one secret of a repo.
func (s *Snapshot) Secret(repo, name string) (*api.Secret, error) {
	raw, err := s.txn.First(tableSecrets, "id", repo, name)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("secret %q of repo %q: %w", name, repo, ErrNotFound)
	}
	return raw.(*api.Secret), nil
}

// RepoSecrets returns a repo's secrets, by name.
func (s *Snapshot) RepoSecrets(repo string) []*api.Secret {
	var out []*api.Secret
	iter, _ := s.txn.Get(tableSecrets, "id_prefix", repo)
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		if sec := raw.(*api.Secret); sec.Repo == repo {
			out = append(out, sec)
		}
	}
	return out
}

// Delivery returns the record of an accepted webhook delivery.
func (s *Snapshot) Delivery(id string) (*api.Delivery, error) {
	raw, err := s.txn.First(tableDeliveries, "id", id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("delivery %q: %w", id, ErrNotFound)
	}
	return raw.(*api.Delivery), nil
}

// Run returns the run with exactly the given ID.
func (s *Snapshot) Run(id string) (*api.Run, error) {
	raw, err := s.txn.First(tableRuns, "id", id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	return raw.(*api.Run), nil
}

// LookupRun finds the run a user means: its ID, or a unique ID prefix of at
// least four characters.
func (s *Snapshot) LookupRun(id string) (*api.Run, error) {
	if r, err := s.Run(id); err == nil {
		return r, nil
	}
	var found *api.Run
	if len(id) >= 4 {
		for _, r := range s.Runs("") {
			if strings.HasPrefix(r.ID, id) {
				if found != nil {
					return nil, fmt.Errorf("run ID prefix %q matches more than one run", id)
				}
				found = r
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	return found, nil
}

// Runs returns the runs of repo (every run when repo is ""), oldest first.
func (s *Snapshot) Runs(repo string) []*api.Run {
	var out []*api.Run
	iter, _ := s.txn.Get(tableRuns, "id")
	if repo != "" {
		iter, _ = s.txn.Get(tableRuns, "repo", repo)
	}
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*api.Run))
	}
	sortRuns(out)
	return out
}

// ActiveRuns returns the runs that have not finished, oldest first.
func (s *Snapshot) ActiveRuns() []*api.Run {
	var out []*api.Run
	iter, _ := s.txn.Get(tableRuns, "active", true)
	for raw := iter.Next(); raw != nil; raw = iter.Next() {
		out = append(out, raw.(*api.Run))
	}
	sortRuns(out)
	return out
}

func sortRuns(rs []*api.Run) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].CreateIndex != rs[j].CreateIndex {
			return rs[i].CreateIndex < rs[j].CreateIndex
		}
		return rs[i].ID < rs[j].ID
	})
}

// PutRepo inserts or replaces a repo, stamping its indexes.
func (tx *Txn) PutRepo(r *api.Repo) error {
	stamp(&r.CreateIndex, &r.ModifyIndex, tx.index)
	tx.dirty = true
	return tx.txn.Insert(tableRepos, r)
}

// DeleteRepo removes a repo and its secrets; its runs stay.
func (tx *Txn) DeleteRepo(name string) error {
	r, err := tx.Repo(name)
	if err != nil {
		return err
	}
	for _, sec := range tx.RepoSecrets(name) {
		if err := tx.txn.Delete(tableSecrets, sec); err != nil {
			return err
		}
	}
	tx.dirty = true
	return tx.txn.Delete(tableRepos, r)
}

// PutSecret inserts or replaces a secret, stamping its indexes.
func (tx *Txn) PutSecret(sec *api.Secret) error {
	stamp(&sec.CreateIndex, &sec.ModifyIndex, tx.index)
	tx.dirty = true
	return tx.txn.Insert(tableSecrets, sec)
}

// DeleteSecret removes a secret.
func (tx *Txn) DeleteSecret(repo, name string) error {
	sec, err := tx.Secret(repo, name)
	if err != nil {
		return err
	}
	tx.dirty = true
	return tx.txn.Delete(tableSecrets, sec)
}

// PutDelivery records an accepted webhook delivery.
func (tx *Txn) PutDelivery(d *api.Delivery) error {
	tx.dirty = true
	return tx.txn.Insert(tableDeliveries, d)
}

// PutRun inserts or replaces a run, stamping its indexes.
func (tx *Txn) PutRun(r *api.Run) error {
	stamp(&r.CreateIndex, &r.ModifyIndex, tx.index)
	tx.dirty = true
	return tx.txn.Insert(tableRuns, r)
}
