import type { Child } from 'hono/jsx';
import { Hono } from 'hono';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EnrollmentLinks } from './enrollment-links.ts';

export interface EnrollDeps {
  links: EnrollmentLinks;
  log: Logger;
  organization: string;
  /** The push topic, or null when no push certificate is installed yet. */
  topic: () => string | null;
  /** Builds and signs the profile for a spent link. */
  profile: (spent: ReturnType<EnrollmentLinks['spend']>, topic: string) => Buffer;
}

function Page(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <style>{`body{font-family:-apple-system,system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1d1d1f}
a.button{display:inline-block;background:#0071e3;color:#fff;padding:.7rem 1.2rem;border-radius:.6rem;text-decoration:none;font-weight:600}
.note{background:#f5f5f7;padding:.8rem 1rem;border-radius:.6rem}`}</style>
      </head>
      <body>
        <h1>{props.title}</h1>
        {props.children}
      </body>
    </html>
  );
}

/** `/enroll/<token>`: the page a device's browser opens, and the profile it downloads. */
export function enrollRoutes(deps: EnrollDeps) {
  const app = new Hono();

  const problem = (status: number, title: string, text: string) => (
    <Page title={title}>
      <p>{text}</p>
    </Page>
  );

  app.get('/:token', (c) => {
    try {
      const link = deps.links.check(c.req.param('token'));
      if (!deps.topic()) {
        return c.html(problem(503, 'Not ready yet', 'This server cannot enroll devices yet: no Apple push certificate is installed. Ask your IT administrator.'), 503);
      }
      const personal = link.ownership === 'personal';
      return c.html(
        <Page title={`Enroll in ${deps.organization}`}>
          <p>
            This installs a profile that lets {deps.organization}'s IT manage this {personal ? 'personal' : 'company'} device: apply security settings, install
            work apps, and {personal ? 'remove work data (never your personal data)' : 'lock or erase it if it is lost'}.
          </p>
          {link.userEmail ? <p>Enrolling for {link.userEmail}.</p> : null}
          <p>
            <a class="button" href={`${c.req.path.replace(/\/$/, '')}/profile`}>
              Download the profile
            </a>
          </p>
          <p class="note">
            iPhone and iPad: after the download, open Settings › Profile Downloaded › Install. Mac: open System Settings › Privacy &amp; Security › Profiles.
            This link works once.
          </p>
        </Page>,
      );
    } catch (e) {
      if (isAppError(e)) return c.html(problem(e.status, 'Enrollment link', e.message), e.status);
      throw e;
    }
  });

  app.get('/:token/profile', (c) => {
    const topic = deps.topic();
    try {
      if (!topic) {
        deps.links.check(c.req.param('token'));
        return c.html(problem(503, 'Not ready yet', 'No Apple push certificate is installed: no profile can be issued yet.'), 503);
      }
      const spent = deps.links.spend(c.req.param('token'));
      const body = deps.profile(spent, topic);
      deps.log.info({ ownership: spent.ownership, userEmail: spent.userEmail }, 'enrollment profile issued');
      return c.body(new Uint8Array(body), 200, {
        'content-type': 'application/x-apple-aspen-config',
        'content-disposition': 'attachment; filename="enroll.mobileconfig"',
        'cache-control': 'no-store',
      });
    } catch (e) {
      if (isAppError(e)) return c.html(problem(e.status, 'Enrollment link', e.message), e.status);
      throw e;
    }
  });
  return app;
}
