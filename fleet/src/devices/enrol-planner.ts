// Who a box becomes when it enrols: a pure decision over what the registry
// holds, so that the rule is read in one place and tested without a network.
//
// The rule (README, "Installing a box"):
// - A token makes a NEW device in the token's site. It never adopts a device
//   that already has the box's serial, wherever that device is.
// - A device keeps its id across a re-image only through a pre-registration
//   of its serial for the site it is in, armed by an operator; enrolling
//   spends the arming, so the serial alone (printed on the box) cannot enrol
//   again and lock the box out.
// - A revoked device stays revoked: it no longer owns its serial, and nothing
//   here ever returns it.
// - A token cannot claim a serial armed for another site (a box on its way
//   there would be locked out of its own pre-registration).
// - A lost answer is not a dead box: the token that enrolled a device enrols
//   that same device again (same id, new password) as long as it has never
//   logged in to the broker. A commune on a flaky link whose enrolment answer
//   was lost would otherwise need an operator (or a drive) to come back; once
//   the box has logged in, a replay gets nothing. Only the token: it is a
//   secret, while a serial is printed on the box, so a spent pre-registration
//   never enrols again (an operator re-arms it).

export interface EnrolFacts {
  /**
   * undefined: no token sent; null: sent but unknown or expired. `spent`: a
   * real, unexpired token whose uses are all taken (only good for a retry).
   */
  token: { siteId: string; spent?: boolean; id?: number } | null | undefined;
  /** Canonical serial (serial.ts), or null when the box sent none. */
  serial: string | null;
  /** The pre-registration of this serial, if any; `armed` until a box enrols by it. */
  prereg: { siteId: string; armed: boolean } | null;
  /**
   * The live (not revoked) device that has this serial, if any; `neverSeen`
   * until it first logs in; `enrolTokenId`: the token that enrolled it.
   */
  live: { id: string; siteId: string; neverSeen?: boolean; enrolTokenId?: number | null } | null;
}

export type RefusalReason =
  | 'token-invalid'
  | 'no-credential'
  | 'serial-not-preregistered'
  | 'preregistration-used'
  | 'serial-other-site'
  | 'serial-in-use'
  | 'serial-reserved'
  | 'preregistration-other-site';

export type EnrolPlan =
  | { action: 'create'; siteId: string; by: 'token' | 'serial'; spendPrereg: boolean }
  | {
      action: 'reimage';
      siteId: string;
      deviceId: string;
      by: 'token' | 'serial';
      /** A retry after a lost answer: the token was spent by this device's own enrolment. */
      retry?: true;
    }
  | {
      action: 'refuse';
      reason: RefusalReason;
      code: 'FLEET_ERR_TOKEN_INVALID' | 'FLEET_ERR_SERIAL_IN_USE';
      /** What the box is told: never the site or device of another district. */
      message: string;
      /** True when the caller held a valid token or an armed pre-registration (worth an audit entry). */
      credentialed: boolean;
    };

// Unknown and spent pre-registrations get the same answer: whoever probes
// serials learns nothing about which ones the fleet knows.
const NOT_PREREGISTERED =
  'serial is not pre-registered (or its pre-registration was used or expired; an operator can pre-register it again)';

export function planEnrolment(f: EnrolFacts): EnrolPlan {
  if (f.token === null)
    return refuse('token-invalid', 'FLEET_ERR_TOKEN_INVALID', 'ask an operator for a new one', false);
  if (f.token?.spent === true) {
    // Spent: good only for the box whose answer was lost: the device this very token enrolled, never logged in.
    const own = f.live !== null && f.live.enrolTokenId != null && f.live.enrolTokenId === f.token.id;
    if (own && f.live!.neverSeen === true && f.live!.siteId === f.token.siteId) return retry(f.live!);
    return refuse('token-invalid', 'FLEET_ERR_TOKEN_INVALID', 'ask an operator for a new one', false);
  }
  if (f.token !== undefined) return planWithToken(f.token.siteId, f);
  if (f.serial === null)
    return refuse('no-credential', 'FLEET_ERR_TOKEN_INVALID', 'a token or a pre-registered serial is needed', false);
  if (!f.prereg) return refuse('serial-not-preregistered', 'FLEET_ERR_TOKEN_INVALID', NOT_PREREGISTERED, false);
  if (!f.prereg.armed) return refuse('preregistration-used', 'FLEET_ERR_TOKEN_INVALID', NOT_PREREGISTERED, false);
  if (f.live) {
    if (f.live.siteId === f.prereg.siteId)
      return { action: 'reimage', siteId: f.live.siteId, deviceId: f.live.id, by: 'serial' };
    return refuse(
      'preregistration-other-site',
      'FLEET_ERR_SERIAL_IN_USE',
      'this serial belongs to a device enrolled at another site than its pre-registration names; an operator must revoke that device first',
      true,
    );
  }
  return { action: 'create', siteId: f.prereg.siteId, by: 'serial', spendPrereg: true };
}

function planWithToken(siteId: string, f: EnrolFacts): EnrolPlan {
  if (f.serial === null) return { action: 'create', siteId, by: 'token', spendPrereg: false };
  const armedHere = f.prereg?.armed === true && f.prereg.siteId === siteId;
  if (f.live) {
    if (f.live.siteId !== siteId) {
      return refuse(
        'serial-other-site',
        'FLEET_ERR_SERIAL_IN_USE',
        'this serial belongs to a device enrolled at another site; an operator there must revoke it first',
        true,
      );
    }
    if (armedHere) return { action: 'reimage', siteId, deviceId: f.live.id, by: 'token' };
    return refuse(
      'serial-in-use',
      'FLEET_ERR_SERIAL_IN_USE',
      `this serial is already enrolled at this site as device ${f.live.id}; to re-image the box keeping that id, pre-register its serial for this site again; or revoke ${f.live.id} first to enrol it as a new device`,
      true,
    );
  }
  if (f.prereg?.armed === true && f.prereg.siteId !== siteId) {
    return refuse(
      'serial-reserved',
      'FLEET_ERR_SERIAL_IN_USE',
      'this serial is pre-registered for another site; an operator must delete or change that pre-registration first',
      true,
    );
  }
  return { action: 'create', siteId, by: 'token', spendPrereg: armedHere };
}

function retry(live: { id: string; siteId: string }): EnrolPlan {
  return { action: 'reimage', siteId: live.siteId, deviceId: live.id, by: 'token', retry: true };
}

function refuse(
  reason: RefusalReason,
  code: 'FLEET_ERR_TOKEN_INVALID' | 'FLEET_ERR_SERIAL_IN_USE',
  message: string,
  credentialed: boolean,
): EnrolPlan {
  return { action: 'refuse', reason, code, message, credentialed };
}
