package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/phalanx-sched/phalanx/pipeline"
)

// eventHeader is the header each forge names its event kind in.
var eventHeader = map[string]string{
	GitHub:  "X-GitHub-Event",
	GitLab:  "X-Gitlab-Event",
	Gitea:   "X-Gitea-Event",
	Generic: "X-Phalanx-Event", // unused by Parse; kept for a uniform corpus
}

// FuzzParse feeds every forge's parser bodies and event kinds, seeded with
// the recorded deliveries under testdata. Whatever the input, Parse must
// not panic, and a Delivery it returns must be one a runner can use.
func FuzzParse(f *testing.F) {
	for _, rec := range loadAll(f) {
		f.Add(uint8(slices.Index(Forges, rec.forge)), rec.header.Get(eventHeader[rec.forge]), rec.body)
	}
	f.Fuzz(func(t *testing.T, forgeIndex uint8, event string, body []byte) {
		forge := Forges[int(forgeIndex)%len(Forges)]
		h := http.Header{}
		h.Set(eventHeader[forge], event)
		d, err := Parse(forge, h, body)
		if err != nil {
			if !reflect.DeepEqual(d, Delivery{}) {
				t.Fatalf("error %v with a non-zero Delivery", err)
			}
			return
		}
		ev := d.Event
		switch {
		case d.Forge != forge:
			t.Fatalf("Forge = %q, want %q", d.Forge, forge)
		case d.CloneURL == "" || d.RepoName == "" || ev.Repo != d.RepoName:
			t.Fatalf("repository missing: %+v", d)
		case !hashRE.MatchString(ev.Commit):
			t.Fatalf("Commit %q is not a hash", ev.Commit)
		}
		switch ev.Kind {
		case pipeline.EventPush:
			if ev.Branch == "" || ev.Ref != "refs/heads/"+ev.Branch || ev.Tag != "" {
				t.Fatalf("push event %+v", ev)
			}
		case pipeline.EventTag:
			if ev.Tag == "" || ev.Ref != "refs/tags/"+ev.Tag || ev.Branch != "" || ev.ChangedFiles != nil {
				t.Fatalf("tag event %+v", ev)
			}
		case pipeline.EventPullRequest:
			if ev.PullRequest <= 0 || ev.Branch == "" || forge == Generic {
				t.Fatalf("pull request event %+v from %s", ev, forge)
			}
		default:
			t.Fatalf("Kind %q", ev.Kind)
		}
		if !slices.IsSorted(ev.ChangedFiles) || len(slices.Compact(slices.Clone(ev.ChangedFiles))) != len(ev.ChangedFiles) {
			t.Fatalf("ChangedFiles not sorted and unique: %q", ev.ChangedFiles)
		}
	})
}

// FuzzVerify checks that Verify accepts exactly the right proof: the
// signature or token computed from the secret, and nothing else.
func FuzzVerify(f *testing.F) {
	for _, rec := range loadAll(f) {
		good := signed(rec.forge, rec.header, rec.body, secret)
		for _, name := range []string{"X-Hub-Signature-256", "X-Gitea-Signature", "X-Gitlab-Token", "X-Phalanx-Token"} {
			if v := good.Get(name); v != "" {
				f.Add(uint8(slices.Index(Forges, rec.forge)), secret, rec.body, v)
			}
		}
	}
	f.Add(uint8(3), []byte(""), []byte("{}"), "")
	f.Fuzz(func(t *testing.T, forgeIndex uint8, key, body []byte, proof string) {
		forge := Forges[int(forgeIndex)%len(Forges)]
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		sum := hex.EncodeToString(mac.Sum(nil))
		var header, want string
		switch forge {
		case GitHub:
			header, want = "X-Hub-Signature-256", "sha256="+sum
		case Gitea:
			header, want = "X-Gitea-Signature", sum
		case GitLab:
			header, want = "X-Gitlab-Token", string(key)
		case Generic:
			header, want = "X-Phalanx-Token", string(key)
		}
		h := http.Header{}
		h.Set(header, proof)
		err := Verify(forge, h, body, key)
		switch {
		case len(key) == 0:
			if !errors.Is(err, ErrNoSecret) {
				t.Fatalf("empty secret: %v", err)
			}
		case err == nil && !proofMatches(forge, proof, want):
			t.Fatalf("%s accepted %q; the right proof is %q", forge, proof, want)
		case err != nil && proofMatches(forge, proof, want):
			t.Fatalf("%s refused the right proof: %v", forge, err)
		case err != nil && !errors.Is(err, ErrUnauthorized):
			t.Fatalf("%s: %v is not ErrUnauthorized", forge, err)
		}
		// The right proof always passes.
		h.Set(header, want)
		if err := Verify(forge, h, body, key); len(key) > 0 && err != nil {
			t.Fatalf("%s refused the right proof %q: %v", forge, want, err)
		}
	})
}

// proofMatches reports whether proof is the right one; hex digits match
// in either case.
func proofMatches(forge, proof, want string) bool {
	switch forge {
	case GitHub:
		rest, ok := strings.CutPrefix(proof, "sha256=")
		return ok && strings.EqualFold(rest, strings.TrimPrefix(want, "sha256="))
	case Gitea:
		return strings.EqualFold(proof, want)
	}
	return proof != "" && proof == want
}
