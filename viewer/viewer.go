package viewer

import (
	"errors"
	"html/template"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultRefresh = 2 * time.Second
	DefaultTimeout = 10 * time.Second
)

// Config configures a Viewer.
type Config struct {
	// Desired, Status and Marathon are read on every load; all three are
	// required.
	Desired  DesiredLister
	Status   StatusLister
	Marathon Marathon
	// Services is read for containers when Marathon cannot be; optional.
	Services ServicesReader
	// Mesos is read for the agents page, the group page's usage and the
	// containers' logs; optional.
	Mesos Mesos
	// Leader is read on every load; when no theseusd leads, the list
	// warns that /status is not kept current. Optional.
	Leader LeaderReader
	// History is read for the history of one group (its page and its
	// API), never for a list; optional.
	History HistoryReader
	// Auth, when enabled, is required by every request to Handler. See
	// CheckBind for when it must be.
	Auth AuthConfig
	// Refresh is how often the page asks the API whether anything
	// changed. Defaults to DefaultRefresh.
	Refresh time.Duration
	// Timeout bounds one load of all sources. Defaults to DefaultTimeout.
	Timeout time.Duration
	// Now is the clock ages are counted with. Defaults to time.Now.
	Now func() time.Time
	// Logger receives errors of the HTTP handlers. Defaults to discarding.
	Logger *slog.Logger
}

// Viewer joins /desired, /status and Marathon into groups, for
// `theseusd get` (Load) and the web page (Handler). It is safe for
// concurrent use. Between loads it keeps only the images of older app
// definitions, which never change.
type Viewer struct {
	cfg      Config
	pages    *template.Template
	versions versionImages

	mu     sync.Mutex
	flying *flight // the read in flight, shared by the loads asking now
}

// New returns a viewer for cfg.
func New(cfg Config) (*Viewer, error) {
	if cfg.Desired == nil || cfg.Status == nil || cfg.Marathon == nil {
		return nil, errors.New("viewer: Desired, Status and Marathon are required")
	}
	if err := cfg.Auth.validate(); err != nil {
		return nil, err
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Viewer{cfg: cfg, pages: pages}, nil
}
