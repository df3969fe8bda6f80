// A small Go program that reports to crash-cache through sentry-go, one scenario per run.
// Usage: SENTRY_DSN=... CC_MARKER=... CC_RELEASE=... goapp <scenario>
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
)

var marker = os.Getenv("CC_MARKER")

type conformanceError struct{ msg string }

func (e *conformanceError) Error() string { return e.msg }

// failDeep is a few frames deep so the event carries a real stack trace with in-app frames.
func failDeep(what string) error { return failDeeper(what) }

func failDeeper(what string) error {
	return &conformanceError{msg: fmt.Sprintf("conformance %s %s", what, marker)}
}

// report prints the event id, by which the suite finds exactly this run's event.
func report(id *sentry.EventID) {
	if id != nil {
		fmt.Printf("event_id=%s\n", *id)
	}
}

func main() {
	scenario := os.Args[1]
	err := sentry.Init(sentry.ClientOptions{
		Dsn:   os.Getenv("SENTRY_DSN"),
		Debug: os.Getenv("CC_DEBUG") != "",
		// The synchronous transport, as for CLIs: with the default asynchronous one, v0.46.2 sometimes
		// reported "Buffer flushed successfully" at exit without having sent the event (2 of 20 runs).
		Transport:        sentry.NewHTTPSyncTransport(),
		Release:          os.Getenv("CC_RELEASE"),
		Environment:      "conformance",
		EnableTracing:    true,
		TracesSampleRate: 1.0,
		AttachStacktrace: true,
		BeforeSend: func(event *sentry.Event, hint *sentry.EventHint) *sentry.Event {
			if strings.Contains(event.Message, "drop-me") {
				return nil // recorded as a client report (reason before_send)
			}
			return event
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer sentry.Flush(10 * time.Second)

	switch scenario {
	case "handled":
		report(sentry.CaptureException(failDeep("handled")))
	case "unhandled":
		defer func() {
			if r := recover(); r != nil {
				sentry.CurrentHub().Recover(r)
				sentry.Flush(10 * time.Second)
				os.Exit(1)
			}
		}()
		panic(failDeep("unhandled"))
	case "message":
		report(sentry.CaptureMessage("conformance message " + marker))
	case "chained":
		inner := failDeep("inner")
		report(sentry.CaptureException(fmt.Errorf("conformance outer %s: %w", marker, inner)))
	case "breadcrumbs":
		for i := 1; i <= 3; i++ {
			sentry.AddBreadcrumb(&sentry.Breadcrumb{Category: "conformance", Message: fmt.Sprintf("crumb-%d %s", i, marker), Level: sentry.LevelInfo})
		}
		report(sentry.CaptureMessage("conformance breadcrumbs " + marker))
	case "context":
		sentry.ConfigureScope(func(s *sentry.Scope) {
			s.SetTag("cc_marker", marker)
			s.SetUser(sentry.User{ID: "user-" + marker, Email: "conformance@example.com"})
			s.SetContext("conformance", sentry.Context{"marker": marker, "answer": 42})
		})
		report(sentry.CaptureMessage("conformance context " + marker))
	case "release":
		report(sentry.CaptureMessage("conformance release " + marker))
	case "transaction":
		tx := sentry.StartTransaction(context.Background(), "conformance-tx-"+marker)
		span := tx.StartChild("conformance.step")
		time.Sleep(5 * time.Millisecond)
		span.Finish()
		tx.Finish()
	case "attachment":
		sentry.WithScope(func(s *sentry.Scope) {
			s.AddAttachment(&sentry.Attachment{Filename: "conformance.txt", ContentType: "text/plain", Payload: []byte("attachment-bytes " + marker + "\n")})
			report(sentry.CaptureMessage("conformance attachment " + marker))
		})
	case "checkin":
		slug := os.Getenv("CC_MONITOR")
		id := sentry.CaptureCheckIn(&sentry.CheckIn{MonitorSlug: slug, Status: sentry.CheckInStatusInProgress}, nil)
		sentry.CaptureCheckIn(&sentry.CheckIn{ID: *id, MonitorSlug: slug, Status: sentry.CheckInStatusOK, Duration: time.Second}, nil)
	case "client_report":
		sentry.CaptureMessage("drop-me " + marker)
		report(sentry.CaptureMessage("conformance client_report " + marker))
	case "compression":
		sentry.WithScope(func(s *sentry.Scope) {
			s.SetContext("payload", sentry.Context{"text": strings.Repeat("compressible conformance payload "+marker+" ", 1500)})
			report(sentry.CaptureMessage("conformance compression " + marker))
		})
	case "ratelimit":
		// One event at a time (synchronous transport), so the 429 is known before the next.
		for i := 1; i <= 25; i++ {
			sentry.CaptureMessage(fmt.Sprintf("conformance ratelimit %d %s", i, marker))
		}
	default:
		fmt.Fprintln(os.Stderr, "unsupported scenario", scenario)
		os.Exit(3)
	}
}
