package api

// Workspace is a directory that the tasks of one pipeline run share: the
// executor creates it under its data directory, checks out the run's commit
// into it before the first task that needs it starts, and mounts it into
// every task of the run at MountPath (the task's working directory unless
// the task sets one). All of a run's steps go to one node, so they see the
// same files.
type Workspace struct {
	// ID names the workspace on the node; the run's ID.
	ID string `json:"id"`
	// MountPath is where tasks see it; DefaultWorkspacePath when empty.
	MountPath string `json:"mount_path,omitempty"`
	// Checkout, when set, is the commit the workspace must hold. The
	// executor checks it out once, before the first task of the run starts.
	Checkout *Checkout `json:"checkout,omitempty"`
}

// DefaultWorkspacePath is where a run's workspace appears inside its tasks.
const DefaultWorkspacePath = "/workspace"

// Checkout says which commit of which repository to put in a workspace.
type Checkout struct {
	URL    string `json:"url"`
	Commit string `json:"commit"`
	// Ref is the ref the commit was pushed to ("refs/heads/main"), a hint
	// that lets a shallow fetch ask for a branch tip instead of a bare SHA.
	Ref string `json:"ref,omitempty"`
	// Token authenticates the fetch. It is replicated with the allocation
	// so that the executor can use it, and the HTTP API never returns it
	// (see Allocation.Redacted).
	Token string `json:"token,omitempty"`
}
