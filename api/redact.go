package api

import "maps"

// Redacted is the mask that replaces secret values in API responses.
const Redacted = "***"

// Redacted returns t with the values of the variables named in SecretEnv
// and the workspace's checkout token replaced by Redacted; t itself is
// not changed. Only executors get tasks unredacted.
func (t Task) Redacted() Task {
	if len(t.SecretEnv) > 0 && len(t.Env) > 0 {
		t.Env = maps.Clone(t.Env)
		for _, k := range t.SecretEnv {
			if _, ok := t.Env[k]; ok {
				t.Env[k] = Redacted
			}
		}
	}
	if t.Workspace != nil && t.Workspace.Checkout != nil && t.Workspace.Checkout.Token != "" {
		ws, co := *t.Workspace, *t.Workspace.Checkout
		co.Token = Redacted
		ws.Checkout = &co
		t.Workspace = &ws
	}
	return t
}

// Redacted returns a copy of a whose task is redacted (see Task.Redacted).
func (a *Allocation) Redacted() *Allocation {
	c := *a
	c.Task = a.Task.Redacted()
	return &c
}
