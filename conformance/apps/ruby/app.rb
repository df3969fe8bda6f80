# A small Ruby program that reports to crash-cache through sentry-ruby (Debian's package), one scenario per run.
# Usage: SENTRY_DSN=... CC_MARKER=... CC_RELEASE=... ruby app.rb <scenario>
require "sentry-ruby"

MARKER = ENV.fetch("CC_MARKER", "")
class ConformanceError < StandardError; end

# A few frames deep so the event carries a real stack trace with in-app frames.
def fail_deep(what)
  fail_deeper(what)
end

def fail_deeper(what)
  raise ConformanceError, "conformance #{what} #{MARKER}"
end

# The suite finds exactly this run's event by the id printed here.
def report(event)
  puts "event_id=#{event&.event_id}"
end

scenario = ARGV[0]
Sentry.init do |config|
  config.dsn = ENV.fetch("SENTRY_DSN")
  config.release = ENV["CC_RELEASE"]
  config.environment = "conformance"
  # In-app frames are those under project_root matching app_dirs_pattern (default: app/, lib/, ...).
  config.project_root = __dir__
  config.app_dirs_pattern = /app\.rb/
  config.traces_sample_rate = 1.0
  config.background_worker_threads = 0 # send synchronously: the process exits right after
  config.auto_session_tracking = scenario == "session"
  config.before_send = lambda do |event, _hint|
    event.message.to_s.include?("drop-me") ? nil : event
  end
end

case scenario
when "handled"
  begin
    fail_deep("handled")
  rescue ConformanceError => e
    report(Sentry.capture_exception(e))
  end
when "message"
  report(Sentry.capture_message("conformance message #{MARKER}"))
when "chained"
  begin
    begin
      fail_deep("inner")
    rescue ConformanceError
      raise ConformanceError, "conformance outer #{MARKER}" # Ruby sets #cause
    end
  rescue ConformanceError => e
    report(Sentry.capture_exception(e))
  end
when "breadcrumbs"
  (1..3).each do |i|
    Sentry.add_breadcrumb(Sentry::Breadcrumb.new(category: "conformance", message: "crumb-#{i} #{MARKER}", level: "info"))
  end
  report(Sentry.capture_message("conformance breadcrumbs #{MARKER}"))
when "context"
  Sentry.set_tags(cc_marker: MARKER)
  Sentry.set_user(id: "user-#{MARKER}", email: "conformance@example.com")
  Sentry.set_context("conformance", { marker: MARKER, answer: 42 })
  report(Sentry.capture_message("conformance context #{MARKER}"))
when "release"
  report(Sentry.capture_message("conformance release #{MARKER}"))
when "session"
  Sentry.with_session_tracking do
    begin
      fail_deep("session")
    rescue ConformanceError => e
      report(Sentry.capture_exception(e))
    end
  end
  # 5.3's session flusher sends aggregates every 60 s and does not flush at exit.
  Sentry.instance_variable_get(:@session_flusher)&.flush
when "transaction"
  tx = Sentry.start_transaction(name: "conformance-tx-#{MARKER}", op: "conformance")
  span = tx.start_child(op: "conformance.step")
  sleep 0.005
  span.finish
  tx.finish
when "client_report"
  Sentry.capture_message("drop-me #{MARKER}")
  report(Sentry.capture_message("conformance client_report #{MARKER}"))
when "compression"
  Sentry.set_context("payload", { text: "compressible conformance payload #{MARKER} " * 1500 })
  report(Sentry.capture_message("conformance compression #{MARKER}"))
when "ratelimit"
  # Sent synchronously (no background worker), so the 429 is known before the next event.
  (1..25).each { |i| Sentry.capture_message("conformance ratelimit #{i} #{MARKER}") }
else
  warn "unsupported scenario #{scenario}"
  exit 3
end
