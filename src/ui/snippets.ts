// Copy-paste set-up for each SDK, with the project's DSN filled in. Package names and init options
// follow each SDK's own "getting started" page; only the DSN differs from what Sentry shows.

export interface Snippet {
  id: string;
  label: string;
  install: string;
  code: string;
}

export function sdkSnippets(dsn: string): Snippet[] {
  const d = JSON.stringify(dsn);
  return [
    {
      id: 'javascript',
      label: 'JavaScript (browser)',
      install: 'npm install @sentry/browser',
      code: `import * as Sentry from "@sentry/browser";\n\nSentry.init({\n  dsn: ${d},\n  release: "my-app@1.0.0",\n  environment: "production",\n});`,
    },
    {
      id: 'node',
      label: 'Node.js',
      install: 'npm install @sentry/node',
      code: `// instrument.js — load it first: node --import ./instrument.js app.js\nconst Sentry = require("@sentry/node");\n\nSentry.init({\n  dsn: ${d},\n  release: "my-app@1.0.0",\n  environment: "production",\n});`,
    },
    {
      id: 'python',
      label: 'Python',
      install: 'pip install sentry-sdk',
      code: `import sentry_sdk\n\nsentry_sdk.init(\n    dsn=${d},\n    release="my-app@1.0.0",\n    environment="production",\n)`,
    },
    {
      id: 'go',
      label: 'Go',
      install: 'go get github.com/getsentry/sentry-go',
      code: `import "github.com/getsentry/sentry-go"\n\nerr := sentry.Init(sentry.ClientOptions{\n\tDsn:         ${d},\n\tRelease:     "my-app@1.0.0",\n\tEnvironment: "production",\n})\nif err != nil {\n\tlog.Fatalf("sentry.Init: %s", err)\n}\ndefer sentry.Flush(2 * time.Second)`,
    },
    {
      id: 'java',
      label: 'Java',
      install: `// Gradle\nimplementation 'io.sentry:sentry:8.+'`,
      code: `import io.sentry.Sentry;\n\nSentry.init(options -> {\n  options.setDsn(${d});\n  options.setRelease("my-app@1.0.0");\n  options.setEnvironment("production");\n});`,
    },
    {
      id: 'ruby',
      label: 'Ruby',
      install: 'gem install sentry-ruby',
      code: `require "sentry-ruby"\n\nSentry.init do |config|\n  config.dsn = ${d}\n  config.release = "my-app@1.0.0"\n  config.environment = "production"\nend`,
    },
    {
      id: 'php',
      label: 'PHP',
      install: 'composer require sentry/sentry',
      code: `\\Sentry\\init([\n    'dsn' => '${dsn.replace(/['\\]/g, '\\$&')}',\n    'release' => 'my-app@1.0.0',\n    'environment' => 'production',\n]);`,
    },
    {
      id: 'dotnet',
      label: '.NET',
      install: 'dotnet add package Sentry',
      code: `using Sentry;\n\nusing (SentrySdk.Init(o =>\n{\n    o.Dsn = ${d};\n    o.Release = "my-app@1.0.0";\n    o.Environment = "production";\n}))\n{\n    // your app\n}`,
    },
    {
      id: 'rust',
      label: 'Rust',
      install: `# Cargo.toml\nsentry = "0.41"`,
      code: `let _guard = sentry::init((${d}, sentry::ClientOptions {\n    release: Some("my-app@1.0.0".into()),\n    environment: Some("production".into()),\n    ..Default::default()\n}));`,
    },
  ];
}
