package viewer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testToken = "0123456789abcdef-token"

func TestCheckBind(t *testing.T) {
	token := AuthConfig{Token: testToken}
	basic := AuthConfig{Username: "ops", Password: "pw"}
	tests := []struct {
		addr string
		auth AuthConfig
		want string // a part of the error; "" for none
	}{
		{"127.0.0.1:7070", AuthConfig{}, ""},
		{"127.1.2.3:7070", AuthConfig{}, ""},
		{"localhost:7070", AuthConfig{}, ""},
		{"[::1]:7070", AuthConfig{}, ""},
		{":7070", AuthConfig{}, "beyond loopback"},
		{"0.0.0.0:7070", AuthConfig{}, "beyond loopback"},
		{"[::]:7070", AuthConfig{}, "beyond loopback"},
		{"10.1.2.3:7070", AuthConfig{}, "beyond loopback"},
		{"viewer.example.com:7070", AuthConfig{}, "beyond loopback"},
		{"0.0.0.0:7070", token, "without TLS"},
		{":7070", basic, "--http-insecure"},
		{"127.0.0.1:7070", token, ""},
		{"0.0.0.0:7070", AuthConfig{Token: "short"}, "at least 16"},
		{"127.0.0.1:7070", AuthConfig{Username: "ops"}, "both a user and a password"},
		{"0.0.0.0:7070", AuthConfig{Password: "pw"}, "both a user and a password"},
		{"7070", AuthConfig{}, "listen address"},
	}
	// Off loopback with auth: TLS, or the operator's explicit consent.
	for _, b := range []Bind{{Addr: "0.0.0.0:7070", Auth: token, TLS: true}, {Addr: ":7070", Auth: basic, Insecure: true}} {
		if err := CheckBind(b); err != nil {
			t.Errorf("CheckBind(%+v) = %v, want nil", b, err)
		}
	}
	if err := CheckBind(Bind{Addr: "0.0.0.0:7070", TLS: true}); err == nil {
		t.Error("TLS without auth beyond loopback was accepted")
	}
	for _, tt := range tests {
		err := CheckBind(Bind{Addr: tt.addr, Auth: tt.auth})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckBind(%q, %+v) = %v, want nil", tt.addr, tt.auth, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckBind(%q, %+v) = %v, want an error with %q", tt.addr, tt.auth, err, tt.want)
		}
	}
}

func TestRequireAuth(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("in")) })
	both := RequireAuth(AuthConfig{Token: testToken, Username: "ops", Password: "pw"}, ok)
	tokenOnly := RequireAuth(AuthConfig{Token: testToken}, ok)
	tests := []struct {
		name    string
		h       http.Handler
		target  string
		prepare func(r *http.Request)
		code    int
		header  string // a header that must be set, "Name: part of value"
	}{
		{"nothing", both, "/", nil, 401, "Www-Authenticate: Basic"},
		{"nothing, token only", tokenOnly, "/api/v1/groups", nil, 401, "Www-Authenticate: Bearer"},
		{"bearer", both, "/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, 200, ""},
		{"wrong bearer", both, "/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken+"x") }, 401, ""},
		{"basic", both, "/", func(r *http.Request) { r.SetBasicAuth("ops", "pw") }, 200, ""},
		{"wrong password", both, "/", func(r *http.Request) { r.SetBasicAuth("ops", "pW") }, 401, ""},
		{"basic when only a token is set", tokenOnly, "/", func(r *http.Request) { r.SetBasicAuth("ops", "pw") }, 401, ""},
		{"cookie", tokenOnly, "/", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: TokenCookie, Value: testToken}) }, 200, ""},
		{"token in the URL", tokenOnly, "/groups/web/dev?token=" + testToken + "&l=dev", nil, 303, "Location: /groups/web/dev?l=dev"},
		{"wrong token in the URL", tokenOnly, "/?token=nope", nil, 401, ""},
		// A path of two slashes would send the browser to another site.
		{"token in the URL of a path like another site's", tokenOnly, "//evil.example/x?token=" + testToken, nil, 303, "Location: /evil.example/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.prepare != nil {
				tt.prepare(r)
			}
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Errorf("status %d, want %d: %s", w.Code, tt.code, w.Body.String())
			}
			if name, want, ok := strings.Cut(tt.header, ": "); ok && name == "Location" && w.Header().Get(name) != want {
				t.Errorf("Location: %q, want %q", w.Header().Get(name), want)
			}
			if name, part, ok := strings.Cut(tt.header, ": "); ok && !strings.Contains(w.Header().Get(name), part) {
				t.Errorf("%s: %q, want it to contain %q", name, w.Header().Get(name), part)
			}
			if tt.code == 303 {
				c := w.Result().Cookies()
				if len(c) != 1 || c[0].Name != TokenCookie || c[0].Value != testToken || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
					t.Errorf("cookie set: %+v", c)
				}
			}
		})
	}
	if h := RequireAuth(AuthConfig{}, ok); h == nil {
		t.Fatal("nil handler")
	}
}
