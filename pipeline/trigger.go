package pipeline

import (
	"fmt"
	"strings"

	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// Event is what starts a run: a push, a tag, a pull request, or a person.
type Event struct {
	// Kind is EventPush, EventTag, EventPullRequest or EventManual.
	Kind string
	// Repo names the repository.
	Repo string
	// Ref is the full ref ("refs/heads/main", "refs/tags/v1.2").
	Ref string
	// Branch is the branch pushed to; for a pull request, the branch it
	// targets. Empty for a tag.
	Branch string
	// Tag is the tag pushed, for a tag event.
	Tag string
	// Commit is the commit the run builds.
	Commit string
	// ChangedFiles are the paths, relative to the repository root, that
	// the push or pull request changed. Nil means unknown (a tag, a manual
	// run, a push too large to list): path filters then accept the event.
	// An empty, non-nil list means no file changed.
	ChangedFiles []string
	// PullRequest is the pull request's number, for a pull request.
	PullRequest int
	// PipelineID identifies the run.
	PipelineID string
}

// Triggered reports whether the pipeline's on field accepts ev, and if not,
// why. Manual runs are always accepted: a person asked for them.
func Triggered(s *Spec, ev Event) (bool, string) {
	on := s.On
	switch ev.Kind {
	case EventManual:
		return true, ""
	case EventPush:
		switch {
		case on.Push == nil:
			return false, "on.push is not set: pushes do not start this pipeline"
		case len(on.Push.Branches) > 0 && !matchAny(on.Push.Branches, ev.Branch):
			return false, fmt.Sprintf("branch %s matches none of on.push.branches (%s)", yamlfile.Quote(ev.Branch), strings.Join(on.Push.Branches, ", "))
		case !pathsAccept(on.Push.Paths, ev.ChangedFiles):
			return false, fmt.Sprintf("no changed file matches on.push.paths (%s)", strings.Join(on.Push.Paths, ", "))
		}
	case EventTag:
		switch {
		case on.Tag == nil:
			return false, "on.tag is not set: tags do not start this pipeline"
		case len(on.Tag.Tags) > 0 && !matchAny(on.Tag.Tags, ev.Tag):
			return false, fmt.Sprintf("tag %s matches none of on.tag (%s)", yamlfile.Quote(ev.Tag), strings.Join(on.Tag.Tags, ", "))
		}
	case EventPullRequest:
		switch {
		case on.PullRequest == nil:
			return false, "on.pull_request is not set: pull requests do not start this pipeline"
		case len(on.PullRequest.Branches) > 0 && !matchAny(on.PullRequest.Branches, ev.Branch):
			return false, fmt.Sprintf("target branch %s matches none of on.pull_request.branches (%s)", yamlfile.Quote(ev.Branch), strings.Join(on.PullRequest.Branches, ", "))
		}
	default:
		return false, fmt.Sprintf("unknown event kind %s; want %s", yamlfile.Quote(ev.Kind), strings.Join(eventKinds, ", "))
	}
	return true, ""
}

// pathsAccept reports whether a path filter accepts the changed files: it
// does when it is empty, when the files are unknown (nil), or when one of
// them matches.
func pathsAccept(patterns, files []string) bool {
	return len(patterns) == 0 || files == nil || anyFileMatches(patterns, files)
}

// skipReason says why a step's when drops it for ev, or "" if it runs.
func skipReason(w When, ev Event) string {
	switch {
	case len(w.Event) > 0 && !contains(w.Event, ev.Kind):
		return fmt.Sprintf("event %s is not one of when.event (%s)", ev.Kind, strings.Join(w.Event, ", "))
	case len(w.Branch) > 0 && ev.Branch == "":
		return fmt.Sprintf("when.branch is set and a %s event has no branch", ev.Kind)
	case len(w.Branch) > 0 && !matchAny(w.Branch, ev.Branch):
		return fmt.Sprintf("branch %s matches none of when.branch (%s)", yamlfile.Quote(ev.Branch), strings.Join(w.Branch, ", "))
	case !pathsAccept(w.Paths, ev.ChangedFiles):
		return fmt.Sprintf("no changed file matches when.paths (%s)", strings.Join(w.Paths, ", "))
	}
	return ""
}
