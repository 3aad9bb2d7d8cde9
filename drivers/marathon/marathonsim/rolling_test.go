package marathonsim

import (
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"
)

// restartBounds is Marathon's ignition arithmetic, computed independently
// of the simulator for n running healthy instances.
func restartBounds(n int, minHC, maxOC float64) (minHealthy, maxCap, killNow, startNow int) {
	minHealthy = int(math.Ceil(float64(n) * minHC))
	maxCap = int(math.Floor(float64(n) * (1 + maxOC)))
	killNow = max(0, n-minHealthy)
	if minHealthy == maxCap && maxCap <= n {
		maxCap++
	}
	startNow = min(n, maxCap-n)
	return
}

// TestRollingUpgradeArithmetic replaces n healthy instances and checks, at
// every settled instant of the rollout, that the healthy instances never
// fall below minHealthy and the instances (queued, staging, running or
// being killed) never exceed maxCapacity; and that it ends with n new
// healthy instances and no old one.
func TestRollingUpgradeArithmetic(t *testing.T) {
	tests := []struct {
		n            int
		minHC, maxOC float64
		// Expected right after the update (TaskReplaceActor's arithmetic).
		wantKill, wantStart int
	}{
		{4, 1.0, 1.0, 0, 4},
		{4, 1.0, 0.2, 0, 1},
		{4, 0.5, 0.0, 2, 0},
		{4, 0.0, 0.0, 4, 0},
		{4, 1.0, 0.0, 0, 1},
		{1, 1.0, 0.0, 0, 1},
		{1, 0.0, 0.0, 1, 0},
		{3, 0.5, 0.5, 1, 1},
		{5, 0.8, 0.4, 1, 2},
		{10, 0.3, 0.1, 7, 1},
		// Double arithmetic as in Marathon: 25 × 0.28 = 7.000000000000001,
		// so minHealthy is 8; 25 × 1.16 = 28.999999999999996, so
		// maxCapacity is 28.
		{25, 0.28, 0.16, 17, 3},
		{6, 0.5, 1.0, 3, 6},
		{2, 0.0, 1.0, 2, 2},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("n=%d/min=%v/over=%v", tt.n, tt.minHC, tt.maxOC)
		t.Run(name, func(t *testing.T) {
			minHealthy, maxCap, killNow, startNow := restartBounds(tt.n, tt.minHC, tt.maxOC)
			if killNow != tt.wantKill || startNow != tt.wantStart {
				t.Fatalf("table: arithmetic gives kill %d start %d", killNow, startNow)
			}
			h := newHarness(t, Gen15)
			app := withHealth(dockerApp("/roll", "web:1", tt.n), 5, 3, 3)
			app["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": tt.minHC, "maximumOverCapacity": tt.maxOC}
			h.create(app)
			h.until("all healthy", 10*time.Minute, func() bool { return h.app("/roll").TasksHealthy == tt.n })

			a := h.sim.apps["/roll"]
			var violations []string
			h.sim.observe = func() {
				healthy, active := 0, a.queue
				for _, tk := range a.tasks {
					active++
					if tk.goalRunning() && tk.ok() {
						healthy++
					}
				}
				if healthy < minHealthy {
					violations = append(violations, fmt.Sprintf("%s: %d healthy < minHealthy %d", h.sim.now.Format(time.TimeOnly), healthy, minHealthy))
				}
				if active > maxCap {
					violations = append(violations, fmt.Sprintf("%s: %d instances > maxCapacity %d", h.sim.now.Format(time.TimeOnly), active, maxCap))
				}
			}
			h.must(http.StatusOK, "PUT", "/v2/apps/roll", map[string]any{
				"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "web:2"}},
			})
			killing, started := 0, a.queue
			for _, tk := range a.tasks {
				if tk.state == taskKilling {
					killing++
				}
				if tk.configVersion.Equal(a.lastConfigChangeAt) {
					started++
				}
			}
			if killing != tt.wantKill || started != tt.wantStart {
				t.Errorf("right after the update: %d killed, %d started; want %d, %d", killing, started, tt.wantKill, tt.wantStart)
			}
			h.until("rollout", time.Hour, h.settled)
			h.sim.mu.Lock()
			h.sim.observe = nil
			h.sim.mu.Unlock()
			for _, v := range violations {
				t.Error(v)
			}
			tasks := h.sim.Tasks("/roll")
			if len(tasks) != tt.n {
				t.Fatalf("%d tasks at the end, want %d", len(tasks), tt.n)
			}
			for _, tk := range tasks {
				if !tk.CurrentConfig || !tk.Healthy || tk.State != "TASK_RUNNING" {
					t.Errorf("task %s at the end: %+v", tk.ID, tk)
				}
			}
		})
	}
}

// TestRollingUpgradeWaitsForHealth: without healthy new instances no old
// instance beyond the immediate ones is killed, and the deployment stays.
func TestRollingUpgradeWaitsForHealth(t *testing.T) {
	h := newHarness(t, Gen15)
	app := withHealth(dockerApp("/gate", "web:1", 4), 5, 3, 0)
	app["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": 1.0, "maximumOverCapacity": 0.0}
	h.create(app)
	h.until("healthy", 5*time.Minute, func() bool { return h.app("/gate").TasksHealthy == 4 })
	old := map[string]bool{}
	for _, tk := range h.sim.Tasks("/gate") {
		old[tk.ID] = true
	}
	h.sim.Faults().NeverHealthyImage("web:2")
	h.must(http.StatusOK, "PUT", "/v2/apps/gate", map[string]any{
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "web:2"}},
	})
	h.advance(2 * time.Hour)
	tasks := h.sim.Tasks("/gate")
	survivors := 0
	for _, tk := range tasks {
		if old[tk.ID] && tk.State == "TASK_RUNNING" {
			survivors++
		}
	}
	if survivors != 4 || len(tasks) != 5 {
		t.Fatalf("after 2h: %d old running, %d tasks; want 4 old and one surge task", survivors, len(tasks))
	}
	if deps := h.sim.Deployments(); len(deps) != 1 || deps[0].CurrentStep != 1 {
		t.Fatalf("deployments %+v", deps)
	}
	if a := h.app("/gate"); a.TasksHealthy != 4 || a.Deployment == "" {
		t.Fatalf("app %+v", a)
	}
}
