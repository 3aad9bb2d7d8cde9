package marathonsim

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// DefaultCrashMessage is the message of the TASK_FAILED status of a task
// that an image fault crashes, and so of the app's lastTaskFailure: what
// Mesos reports for a container whose command exits with status 1.
const DefaultCrashMessage = "Command exited with status 1"

// ImageFaultKind says what an image fault does to the tasks it matches.
type ImageFaultKind string

// The kinds of image fault.
const (
	// ImageFail: tasks fail (TASK_FAILED) shortly after they start running.
	ImageFail ImageFaultKind = "fail"
	// ImageUnhealthy: tasks run but never pass their health checks.
	ImageUnhealthy ImageFaultKind = "unhealthy"
	// ImageUnready: tasks run but never pass their readiness check.
	ImageUnready ImageFaultKind = "unready"
)

// MaxCrashMessage bounds the message of a fail fault, in bytes.
const MaxCrashMessage = 1024

// maxCrashAfter bounds how long a task of a fail fault runs.
const maxCrashAfter = 24 * time.Hour

// ImageFault is a fault of every task whose Docker image a glob matches.
type ImageFault struct {
	// ID names the fault for Faults.Clear; set by AddImage.
	ID FaultID
	// Kind is what happens to the tasks.
	Kind ImageFaultKind
	// Image is a glob (see MatchImage).
	Image string
	// After is how long a task of a fail fault runs before it fails
	// (Timings.CrashAfter when 0).
	After time.Duration
	// Message is the TASK_FAILED message of a fail fault, which Marathon
	// reports as the app's lastTaskFailure (DefaultCrashMessage when "").
	Message string
}

// Check reports what is wrong with f, or nil.
func (f ImageFault) Check() error {
	var errs []error
	switch f.Kind {
	case ImageFail, ImageUnhealthy, ImageUnready:
	default:
		errs = append(errs, fmt.Errorf("kind %q: want %q, %q or %q", f.Kind, ImageFail, ImageUnhealthy, ImageUnready))
	}
	if err := CheckImageGlob(f.Image); err != nil {
		errs = append(errs, err)
	}
	if f.Kind != ImageFail && (f.After != 0 || f.Message != "") {
		errs = append(errs, fmt.Errorf("after and message apply to %q faults only", ImageFail))
	}
	if f.After < 0 || f.After > maxCrashAfter {
		errs = append(errs, fmt.Errorf("after %s: want between 0 and %s", f.After, maxCrashAfter))
	}
	if len(f.Message) > MaxCrashMessage {
		errs = append(errs, fmt.Errorf("message is %d bytes, more than %d", len(f.Message), MaxCrashMessage))
	}
	return errors.Join(errs...)
}

// CheckImageGlob reports whether glob is a usable image glob: not empty,
// without white space, and well formed.
func CheckImageGlob(glob string) error {
	switch {
	case glob == "":
		return errors.New("image glob is empty")
	case strings.ContainsAny(glob, " \t\r\n\x00"):
		return fmt.Errorf("image glob %q contains white space", glob)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return fmt.Errorf("image glob %q: %w", glob, err)
	}
	return nil
}

// MatchImage reports whether the Docker image matches glob: `*` matches
// any run of characters ('/' included, so `registry.example.com/*`
// matches every image of that registry), `?` one character, `[...]` one
// of a class, and `\` quotes the next character; the glob must match the
// whole image. A glob without those characters matches only the image
// it names. A malformed glob matches nothing.
func MatchImage(glob, image string) bool {
	if glob == image {
		return true
	}
	// path.Match stops `*` at '/'; NUL never occurs in an image name,
	// so standing it in for '/' on both sides lets `*` cross it.
	ok, err := path.Match(strings.ReplaceAll(glob, "/", "\x00"), strings.ReplaceAll(image, "/", "\x00"))
	return err == nil && ok
}

// AddImage injects an image fault and returns its id, or an error saying
// what is wrong with f.
func (f *Faults) AddImage(im ImageFault) (FaultID, error) {
	if err := im.Check(); err != nil {
		return 0, err
	}
	fault := &imageFault{image: im.Image}
	switch im.Kind {
	case ImageFail:
		fault.crash, fault.crashAfter, fault.crashMessage = true, im.After, im.Message
	case ImageUnhealthy:
		fault.neverHealthy = true
	case ImageUnready:
		fault.neverReady = true
	}
	return f.addImage(fault), nil
}

// Images lists the image faults in the order they were added; fetch
// faults are not among them.
func (f *Faults) Images() []ImageFault {
	fs := &f.s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []ImageFault
	for _, im := range fs.images {
		if im.fetchURI != "" {
			continue
		}
		out = append(out, im.public())
	}
	return out
}

func (im *imageFault) public() ImageFault {
	out := ImageFault{ID: im.id, Image: im.image}
	switch {
	case im.crash:
		out.Kind, out.After, out.Message = ImageFail, im.crashAfter, im.crashMessage
	case im.neverHealthy:
		out.Kind = ImageUnhealthy
	case im.neverReady:
		out.Kind = ImageUnready
	}
	return out
}

// ClearImages removes every image fault (not the fetch faults), as Clear
// does each: tasks of images no longer never-healthy pass their checks
// again.
func (f *Faults) ClearImages() {
	s := f.s
	s.mu.Lock()
	fs := &s.faults
	fs.mu.Lock()
	healed := fs.removeImages(func(im *imageFault) bool { return im.fetchURI == "" })
	fs.mu.Unlock()
	s.heal(healed)
	s.unlockNoCatchUp()
}

// hasImage reports whether an image fault with id exists.
func (f *faultState) hasImage(id FaultID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, im := range f.images {
		if im.id == id && im.fetchURI == "" {
			return true
		}
	}
	return false
}
