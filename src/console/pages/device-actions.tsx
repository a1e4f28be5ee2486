import type { Session } from '../../admins/service.ts';
import type { DeviceViews } from '../../api/device-service.ts';
import { wipeConfirmation, type DeviceAction, type WipeKind } from '../../apple/device-actions.ts';
import type { AppleWipePlan } from '../../apple/retire.ts';
import { CsrfField } from '../layout.tsx';

type Device = ReturnType<DeviceViews['get']>;
export interface Availability {
  actions: Record<DeviceAction, string | null>;
  wipe: WipeKind;
  /** A personal device: exactly what its retire removes and keeps. */
  retire: AppleWipePlan | null;
  retireRefused: string | null;
}

/** What a retire takes off a personal device and what it leaves, said before the button. */
function RetirePlan(props: { plan: AppleWipePlan }) {
  return (
    <div data-testid="retire-plan">
      <p>Removed, in this order:</p>
      <ul>
        {props.plan.removes.map((r) => (
          <li>
            {r.name}
            {r.identifier ? (
              <>
                {' '}
                (<code>{r.identifier}</code>)
              </>
            ) : null}
          </li>
        ))}
      </ul>
      <p>Kept: {props.plan.keeps.join('; ')}.</p>
    </div>
  );
}

/** Why an action is not offered: said where its button would be. */
function Unavailable(props: { reason: string }) {
  return <p class="muted unavailable">Not available: {props.reason}.</p>;
}

function Card(props: { base: string; path: string; session: Session; title: string; about: string; reason: string | null; button: string; danger?: boolean; children?: unknown }) {
  return (
    <form method="post" action={`${props.base}/${props.path}`} class="card">
      <CsrfField session={props.session} />
      <h3>{props.title}</h3>
      <p class="muted">{props.about}</p>
      {props.reason ? (
        <Unavailable reason={props.reason} />
      ) : (
        <>
          {props.children}
          <div class="form-actions">
            <button type="submit" class={props.danger ? 'danger' : undefined}>
              {props.button}
            </button>
          </div>
        </>
      )}
    </form>
  );
}

/** The Apple device's actions: each offered where the device takes it, else the reason why not. */
export function AppleDeviceActions(props: { device: Device; session: Session; available: Availability }) {
  const { device: d, session, available: a } = props;
  const base = `/devices/${encodeURIComponent(d.id)}`;
  const name = wipeConfirmation(d);
  return (
    <div class="actions">
      <Card base={base} path="lock" session={session} title="Lock" about="Locks the screen at once; the user unlocks it with their passcode." reason={null} button="Lock" danger>
        <label for="lock-message">Message on the lock screen (optional)</label>
        <input id="lock-message" name="message" maxlength={200} />
        <label for="lock-phone">Phone number on the lock screen (optional)</label>
        <input id="lock-phone" name="phone" type="tel" maxlength={50} />
      </Card>
      <Card base={base} path="refresh-inventory" session={session} title="Inventory" about="Asks the device for its information, security state, apps, profiles and certificates." reason={null} button="Refresh inventory" />
      <Card base={base} path="restart" session={session} title="Restart" about="Restarts the device; unsaved work on it may be lost." reason={a.actions.restart} button="Restart" />
      <Card
        base={base}
        path="clear-passcode"
        session={session}
        title="Clear passcode"
        about="Removes the passcode, for a user who forgot it; they set a new one."
        reason={a.actions['clear-passcode']}
        button="Clear passcode"
        danger
      />
      <Card
        base={base}
        path="lost-mode"
        session={session}
        title="Lost mode"
        about="Locks the device and shows your message until lost mode is turned off here; it can then report its location."
        reason={a.actions['lost-mode-on']}
        button="Turn on lost mode"
        danger
      >
        <label for="lost-message">Message on the screen</label>
        <input id="lost-message" name="message" maxlength={200} />
        <label for="lost-phone">Phone number on the screen</label>
        <input id="lost-phone" name="phone" type="tel" maxlength={50} />
        <label for="lost-footnote">Footnote (optional)</label>
        <input id="lost-footnote" name="footnote" maxlength={200} />
        <p class="muted">A message or a phone number is needed.</p>
      </Card>
      {a.actions['lost-mode-off'] ? null : (
        <Card base={base} path="lost-mode/disable" session={session} title="Leave lost mode" about="Ends lost mode: the device unlocks as usual again." reason={null} button="Turn off lost mode" />
      )}
      <Card
        base={base}
        path="wipe"
        session={session}
        title={a.wipe === 'erase' ? 'Wipe (erase the device)' : 'Wipe (company data only)'}
        about={
          a.wipe === 'erase'
            ? 'A company device: everything on it is erased and it restarts as new. This cannot be undone.'
            : "A personal device: it is not erased. It is retired: it leaves management, which removes the apps, profiles and data installed through it, and leaves the owner's own untouched."
        }
        reason={a.wipe === 'erase' ? a.actions.erase : a.retireRefused}
        button={a.wipe === 'erase' ? 'Erase this device' : 'Remove company data'}
        danger
      >
        {a.retire ? <RetirePlan plan={a.retire} /> : null}
        <label for="wipe-confirm">
          Type the device's name, <strong>{name}</strong>, to confirm
        </label>
        <input id="wipe-confirm" name="confirm" required autocomplete="off" />
        {a.wipe === 'erase' && d.platform === 'macos' ? (
          <>
            <label for="wipe-pin">Six-digit PIN to unlock the Mac afterwards (Macs without Apple silicon or a T2 chip need one)</label>
            <input id="wipe-pin" name="pin" inputmode="numeric" pattern="[0-9]{6}" maxlength={6} autocomplete="off" />
          </>
        ) : null}
      </Card>
      <Card
        base={base}
        path="remove"
        session={session}
        title="Remove from management"
        about="The device removes this appliance's profile at its next check-in, and with it every app, profile and setting installed through it. Its record and history stay here."
        reason={null}
        button="Remove from management"
        danger
      />
    </div>
  );
}
