package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/phalanx-sched/phalanx/pipeline"
)

func parse(forge string, h http.Header, body []byte) (Delivery, error) {
	var (
		d   Delivery
		err error
	)
	if forge == GitHub || forge == Gitea {
		if body, err = formPayload(forge, h, body); err != nil {
			return Delivery{}, err
		}
	}
	switch forge {
	case GitHub:
		d, err = parseGitHub(h, body)
	case GitLab:
		d, err = parseGitLab(h, body)
	case Gitea:
		d, err = parseGitea(h, body)
	case Generic:
		d, err = parseGeneric(h, body)
	default:
		return Delivery{}, unknownForge(forge)
	}
	if err != nil {
		return Delivery{}, err
	}
	d.Forge = forge
	d.Event.Repo = d.RepoName
	return d, nil
}

// formPayload returns the JSON of a delivery GitHub or Gitea sent with
// content type application/x-www-form-urlencoded (GitHub's default): the
// "payload" field. Other bodies are returned as they are.
func formPayload(forge string, h http.Header, body []byte) ([]byte, error) {
	ct, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%s payload: the form body is malformed: %v", forge, err)
	}
	p := form.Get("payload")
	if p == "" {
		return nil, fmt.Errorf("%s payload: the form body has no payload field", forge)
	}
	return []byte(p), nil
}

// decode reads a JSON payload into v, naming the field and byte offset of
// what is wrong. strict refuses fields v does not have.
func decode(what string, body []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%s payload: byte %d: not valid JSON: the body ends early", what, len(body))
	case errors.As(err, &syntax):
		return fmt.Errorf("%s payload: byte %d: not valid JSON: %v", what, syntax.Offset, err)
	case errors.As(err, &typ):
		// The shared push fields sit in an embedded struct, whose Go name
		// is no part of the JSON.
		field := strings.ReplaceAll(typ.Field, "pushPayload.", "")
		if field == "" {
			return fmt.Errorf("%s payload: byte %d: want a JSON object, got a JSON %s", what, typ.Offset, typ.Value)
		}
		return fmt.Errorf("%s payload: byte %d: field %s: want %s, got a JSON %s", what, typ.Offset, field, typ.Type, typ.Value)
	}
	return fmt.Errorf("%s payload: %v", what, err)
}

// required names the first of the fields (name, value pairs) that is empty.
func required(what string, fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return fmt.Errorf("%s payload: field %s is missing or empty", what, fields[i])
		}
	}
	return nil
}

var hashRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// checkHash checks that a commit hash is 40 (SHA-1) or 64 (SHA-256) hex
// digits.
func checkHash(what, field, h string) error {
	if !hashRE.MatchString(h) {
		return fmt.Errorf("%s payload: field %s: %q is not a commit hash", what, field, h)
	}
	return nil
}

// isZero reports whether h names no object: an empty or all-zero hash,
// which a push gives as before for a new ref and as after for a deletion.
func isZero(h string) bool { return strings.Trim(h, "0") == "" }

// pushPayload is the shape GitHub, Gitea and GitLab share for a push.
type pushPayload struct {
	Ref     string   `json:"ref"`
	Before  string   `json:"before"`
	After   string   `json:"after"`
	Commits []commit `json:"commits"`
}

type commit struct {
	ID       string   `json:"id"`
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

// push turns a push to a branch or a tag into the Delivery's event. peeled
// is the commit a tag points at, when the payload tells it apart from
// after (the tag object, for an annotated tag). complete says whether the
// payload lists every commit of the push.
func (p pushPayload) delivery(what, peeled string, complete bool) (Delivery, error) {
	if err := required(what, "ref", p.Ref); err != nil {
		return Delivery{}, err
	}
	if isZero(p.After) {
		return Delivery{}, ignored("%s deletes %s", what, p.Ref)
	}
	commit := p.After
	if peeled != "" && strings.HasPrefix(p.Ref, "refs/tags/") {
		commit = peeled
	}
	if err := checkHash(what, "after", commit); err != nil {
		return Delivery{}, err
	}
	if !isZero(p.Before) {
		if err := checkHash(what, "before", p.Before); err != nil {
			return Delivery{}, err
		}
	}
	ev := pipeline.Event{Ref: p.Ref, Commit: commit}
	switch {
	case strings.HasPrefix(p.Ref, "refs/heads/"):
		ev.Kind, ev.Branch = pipeline.EventPush, strings.TrimPrefix(p.Ref, "refs/heads/")
		if complete && !isZero(p.Before) {
			ev.ChangedFiles = changedFiles(p.Commits)
		}
	case strings.HasPrefix(p.Ref, "refs/tags/"):
		ev.Kind, ev.Tag = pipeline.EventTag, strings.TrimPrefix(p.Ref, "refs/tags/")
	default:
		return Delivery{}, ignored("%s updates %s, which is neither a branch nor a tag", what, p.Ref)
	}
	if (ev.Branch == "" && ev.Kind == pipeline.EventPush) || (ev.Tag == "" && ev.Kind == pipeline.EventTag) {
		return Delivery{}, fmt.Errorf("%s payload: field ref: %q names no branch or tag", what, p.Ref)
	}
	return Delivery{Event: ev, Before: p.Before}, nil
}

// changedFiles is the sorted union of the files the commits added,
// modified or removed; nil when no commit is listed (the changes are then
// unknown).
func changedFiles(commits []commit) []string {
	if len(commits) == 0 {
		return nil
	}
	seen := map[string]bool{}
	files := []string{}
	for _, c := range commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range list {
				if f != "" && !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	sort.Strings(files)
	return files
}

// pullRequest builds the event of a pull request (GitLab: merge request)
// number n targeting branch base at head commit head; ref is where the
// forge keeps the head.
func pullRequest(what string, n int, base, head, ref string) (Delivery, error) {
	if n <= 0 {
		return Delivery{}, fmt.Errorf("%s payload: field number: want a positive pull request number, got %d", what, n)
	}
	if err := required(what, "base branch", base); err != nil {
		return Delivery{}, err
	}
	if err := checkHash(what, "head commit", head); err != nil {
		return Delivery{}, err
	}
	return Delivery{Event: pipeline.Event{
		Kind:        pipeline.EventPullRequest,
		Ref:         strings.ReplaceAll(ref, "N", strconv.Itoa(n)),
		Branch:      base,
		Commit:      head,
		PullRequest: n,
	}}, nil
}

// repo fills the Delivery's repository from the payload.
func (d Delivery) repo(what, cloneField, cloneURL, nameField, name string) (Delivery, error) {
	if err := required(what, cloneField, cloneURL, nameField, name); err != nil {
		return Delivery{}, err
	}
	d.CloneURL, d.RepoName = cloneURL, name
	return d, nil
}

// firstHeader returns the first of the named headers that is set.
func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
