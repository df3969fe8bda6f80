package conformance;

import io.sentry.Attachment;
import io.sentry.Breadcrumb;
import io.sentry.CheckIn;
import io.sentry.CheckInStatus;
import io.sentry.ITransaction;
import io.sentry.ISpan;
import io.sentry.Sentry;
import io.sentry.SentryLevel;
import io.sentry.protocol.Feedback;
import io.sentry.protocol.User;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** A small Java program that reports to crash-cache through io.sentry:sentry, one scenario per run. */
public final class Main {
  static final String MARKER = System.getenv().getOrDefault("CC_MARKER", "");

  static final class ConformanceException extends RuntimeException {
    ConformanceException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  // A few frames deep so the event carries a real stack trace with in-app frames.
  static RuntimeException failDeep(String what) {
    return failDeeper(what);
  }

  static RuntimeException failDeeper(String what) {
    return new ConformanceException("conformance " + what + " " + MARKER, null);
  }

  // The suite finds exactly this run's event by the id printed here.
  static void report(io.sentry.protocol.SentryId id) {
    System.out.println("event_id=" + id);
  }

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    Sentry.init(o -> {
      o.setDsn(System.getenv("SENTRY_DSN"));
      o.setRelease(System.getenv("CC_RELEASE"));
      o.setEnvironment("conformance");
      o.setTracesSampleRate(1.0);
      o.addInAppInclude("conformance");
      o.setEnableAutoSessionTracking(scenario.equals("session") || scenario.equals("crash"));
      o.setBeforeSend((event, hint) -> {
        // An uncaught exception's id is known only here; the suite finds the event by it.
        if (scenario.equals("unhandled")) System.out.println("event_id=" + event.getEventId());
        return event.getMessage() != null && String.valueOf(event.getMessage().getFormatted()).contains("drop-me") ? null : event;
      });
    });
    switch (scenario) {
      case "handled" -> report(Sentry.captureException(failDeep("handled")));
      case "crash" -> {
        Sentry.startSession();
        Thread t = new Thread(() -> { throw failDeep("crash"); }, "conformance-worker");
        t.start();
        t.join();
        Sentry.endSession();
      }
      case "unhandled" -> {
        // The SDK's UncaughtExceptionHandlerIntegration captures and flushes this.
        Thread t = new Thread(() -> { throw failDeep("unhandled"); }, "conformance-worker");
        t.start();
        t.join();
      }
      case "message" -> report(Sentry.captureMessage("conformance message " + MARKER));
      case "chained" -> {
        RuntimeException inner = failDeep("inner");
        report(Sentry.captureException(new ConformanceException("conformance outer " + MARKER, inner)));
      }
      case "breadcrumbs" -> {
        for (int i = 1; i <= 3; i++) {
          Breadcrumb b = new Breadcrumb("crumb-" + i + " " + MARKER);
          b.setCategory("conformance");
          b.setLevel(SentryLevel.INFO);
          Sentry.addBreadcrumb(b);
        }
        report(Sentry.captureMessage("conformance breadcrumbs " + MARKER));
      }
      case "context" -> {
        Sentry.configureScope(s -> {
          s.setTag("cc_marker", MARKER);
          User u = new User();
          u.setId("user-" + MARKER);
          u.setEmail("conformance@example.com");
          s.setUser(u);
          s.setContexts("conformance", Map.of("marker", MARKER, "answer", 42));
        });
        report(Sentry.captureMessage("conformance context " + MARKER));
      }
      case "release" -> report(Sentry.captureMessage("conformance release " + MARKER));
      case "session" -> {
        Sentry.startSession();
        report(Sentry.captureException(failDeep("session")));
        Sentry.endSession();
      }
      case "transaction" -> {
        ITransaction tx = Sentry.startTransaction("conformance-tx-" + MARKER, "conformance");
        ISpan span = tx.startChild("conformance.step");
        Thread.sleep(5);
        span.finish();
        tx.finish();
      }
      case "attachment" -> Sentry.withScope(s -> {
        s.addAttachment(new Attachment(("attachment-bytes " + MARKER + "\n").getBytes(StandardCharsets.UTF_8), "conformance.txt", "text/plain"));
        report(Sentry.captureMessage("conformance attachment " + MARKER));
      });
      case "feedback" -> {
        var eventId = Sentry.captureMessage("conformance feedback event " + MARKER);
        report(eventId);
        Feedback f = new Feedback("conformance feedback " + MARKER);
        f.setName("Conformance User");
        f.setContactEmail("conformance@example.com");
        f.setAssociatedEventId(eventId);
        Sentry.captureFeedback(f);
      }
      case "checkin" -> {
        String slug = System.getenv("CC_MONITOR");
        var id = Sentry.captureCheckIn(new CheckIn(slug, CheckInStatus.IN_PROGRESS));
        CheckIn done = new CheckIn(id, slug, CheckInStatus.OK);
        done.setDuration(1.0);
        Sentry.captureCheckIn(done);
      }
      case "client_report" -> {
        Sentry.captureMessage("drop-me " + MARKER);
        report(Sentry.captureMessage("conformance client_report " + MARKER));
      }
      case "compression" -> Sentry.withScope(s -> {
        s.setContexts("payload", Map.of("text", ("compressible conformance payload " + MARKER + " ").repeat(1500)));
        report(Sentry.captureMessage("conformance compression " + MARKER));
      });
      case "ratelimit" -> {
        // One event at a time, each flushed, so the 429's X-Sentry-Rate-Limits is known before the next.
        for (int i = 1; i <= 25; i++) {
          Sentry.captureMessage("conformance ratelimit " + i + " " + MARKER);
          Sentry.flush(5000);
        }
      }
      default -> {
        System.err.println("unsupported scenario " + scenario);
        Sentry.close();
        System.exit(3);
      }
    }
    Sentry.close(); // flushes
  }
}
