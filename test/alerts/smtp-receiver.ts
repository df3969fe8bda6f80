import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

// A real SMTP server on 127.0.0.1 (the smtp-server package) that keeps every message it accepts:
// envelope recipients and the raw MIME text. Addresses in `reject` are refused at RCPT TO with
// "550 5.1.1 mailbox unavailable", as a real server refuses an unknown user.

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpReceiver {
  url: string;
  port: number;
  mails: Mail[];
  reject: Set<string>;
  close(): Promise<void>;
}

/** A MIME part's text, quoted-printable decoded (enough for the tests' look at the body). */
export function decodeQp(s: string): string {
  return Buffer.from(s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

/** The Subject header, unfolded and with its RFC 2047 encoded words (Q or B) decoded. */
export function subjectOf(raw: string): string {
  const m = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw);
  if (!m) return '';
  const unfolded = m[1]!.replace(/\r?\n[ \t]/g, ' ').replace(/\?=\s+=\?/g, '?==?');
  return unfolded.replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, text: string) => enc.toUpperCase() === 'B'
    ? Buffer.from(text, 'base64').toString('utf8')
    : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}

export async function startSmtp(): Promise<SmtpReceiver> {
  const r: SmtpReceiver = { url: '', port: 0, mails: [], reject: new Set(), close: async () => {} };
  const server = new SMTPServer({
    authOptional: true,
    // plain text on loopback: nodemailer would (rightly) refuse the self-signed certificate of STARTTLS
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (r.reject.has(address.address.toLowerCase())) return cb(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        r.mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((a) => a.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.server.address() as AddressInfo).port;
  r.url = `smtp://127.0.0.1:${r.port}`;
  r.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return r;
}
