package etcd

import (
	"context"
	"encoding/json"
	"fmt"

	"theseus.dev/specs"
)

// restartDir holds the state of service-wide rolling restarts, one key per
// service, so that `theseusd restart` resumes after a crash.
const restartDir = "/theseus/restart/"

func (c *Client) restartKey(service string) string { return c.opts.Prefix + restartDir + service }

// GetRestart returns the restart state of service, nil when none.
func (c *Client) GetRestart(ctx context.Context, service string) (*specs.RestartState, error) {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Get(rctx, c.restartKey(service))
	if err != nil {
		return nil, fmt.Errorf("read restart state of %s: %w", service, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	var st specs.RestartState
	if err := json.Unmarshal(resp.Kvs[0].Value, &st); err != nil {
		return nil, fmt.Errorf("restart state of %s at %s: %w", service, c.restartKey(service), err)
	}
	return &st, nil
}

// PutRestart stores the restart state of service.
func (c *Client) PutRestart(ctx context.Context, service string, st *specs.RestartState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if _, err := c.cli.Put(rctx, c.restartKey(service), string(data)); err != nil {
		return fmt.Errorf("record restart state of %s: %w", service, err)
	}
	return nil
}

// DeleteRestart removes the restart state of service: its restart is done.
func (c *Client) DeleteRestart(ctx context.Context, service string) error {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if _, err := c.cli.Delete(rctx, c.restartKey(service)); err != nil {
		return fmt.Errorf("clear restart state of %s: %w", service, err)
	}
	return nil
}
