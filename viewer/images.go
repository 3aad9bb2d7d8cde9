package viewer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"theseus.dev/drivers/marathon"
)

// unknownImage stands for the image of a definition Marathon could not
// say (it keeps a bounded number of versions).
const unknownImage = "?"

// versionKey names one definition of one app.
type versionKey struct{ app, version string }

// maxCachedVersions bounds the images kept between loads. A definition
// never changes once written, so what is kept never goes stale; the bound
// only keeps memory in check.
const maxCachedVersions = 4096

// versionImages remembers the image of each older app definition that
// running tasks were found on, so that a rollout costs one read of each
// old definition, not one per load.
type versionImages struct {
	mu sync.Mutex
	m  map[versionKey]string
}

func (c *versionImages) get(k versionKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[k]
	return s, ok
}

func (c *versionImages) put(k versionKey, image string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedVersions {
		c.m = make(map[versionKey]string)
	}
	c.m[k] = image
}

// oldImages returns the image of every older definition that a task of
// apps still runs, reading from Marathon those not known yet, a few at a
// time. A definition Marathon no longer keeps (404) is remembered as
// unknownImage; one that cannot be read for another reason is left out
// (its tasks show unknownImage too) and asked for again at the next load.
func (v *Viewer) oldImages(ctx context.Context, apps []marathon.App) map[versionKey]string {
	out := map[versionKey]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // reads at once
	asked := map[versionKey]bool{}
	for i := range apps {
		a := &apps[i]
		for j := range a.Tasks {
			t := &a.Tasks[j]
			k := versionKey{a.ID, t.Version}
			if a.Current(t) || asked[k] {
				continue
			}
			asked[k] = true
			if img, ok := v.versions.get(k); ok {
				out[k] = img
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				img := unknownImage
				old, err := v.cfg.Marathon.Version(ctx, a.Key, t.Version)
				switch {
				case err == nil:
					img = old.Spec.Image
				case errors.Is(err, marathon.ErrNotFound):
					// Marathon no longer keeps it, and never will again.
				default:
					v.cfg.Logger.Debug("cannot read an older app definition", "app", a.ID, "version", t.Version, "err", err)
					return
				}
				v.versions.put(k, img)
				mu.Lock()
				out[k] = img
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return out
}

// taskImage is the image task t of app runs.
func taskImage(app *marathon.App, t *marathon.Task, old map[versionKey]string) string {
	if app.Current(t) {
		return app.Spec.Image
	}
	if img, ok := old[versionKey{app.ID, t.Version}]; ok {
		return img
	}
	return unknownImage
}

// imagesOf counts the tasks of app by the image they run, the images of
// older definitions first, oldest first, and the app's own last, with its
// count even when no task runs it yet: during a rollout that is where the
// tasks are going.
func imagesOf(app *marathon.App, old map[versionKey]string) []TaskImage {
	type seen struct {
		image, version string
		tasks          int
	}
	var olds []*seen
	current := TaskImage{Image: app.Spec.Image}
	byImage := map[string]*seen{}
	for i := range app.Tasks {
		t := &app.Tasks[i]
		img := taskImage(app, t, old)
		if app.Current(t) || img == app.Spec.Image {
			current.Tasks++
			continue
		}
		s := byImage[img]
		if s == nil {
			s = &seen{image: img, version: t.Version}
			byImage[img] = s
			olds = append(olds, s)
		}
		s.version = min(s.version, t.Version)
		s.tasks++
	}
	slices.SortFunc(olds, func(a, b *seen) int { return strings.Compare(a.version, b.version) })
	out := make([]TaskImage, 0, len(olds)+1)
	for _, s := range olds {
		out = append(out, TaskImage{Image: s.image, Tasks: s.tasks})
	}
	return append(out, current)
}

// imageCell is the IMAGE column: the one image the tasks run, or during a
// rollout every image with its tasks, "nginx:1.27 ×2 → nginx:1.28 ×1".
func imageCell(g *Group) string {
	if len(g.Images) < 2 {
		return dash(g.Image)
	}
	parts := make([]string, len(g.Images))
	for i, im := range g.Images {
		parts[i] = fmt.Sprintf("%s ×%d", im.Image, im.Tasks)
	}
	return strings.Join(parts, " → ")
}
