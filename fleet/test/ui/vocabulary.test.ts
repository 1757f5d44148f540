// One vocabulary for the server and the dashboard. The type checks at the top
// run when `npm run typecheck` compiles this file: the dashboard's data types
// are the server's response schemas, and the roles and areas the access rule
// reads are the ones the API accepts. The tests below check what types cannot:
// every alert type and role the fleet knows has a label on the dashboard in
// both languages, so a new one never shows up as a raw id.
import t from 'tap';
import type { Static } from '@sinclair/typebox';
import type { OPERATOR_ROLES } from '../../src/access.js';
import { ROLE_NAMES, type OperatorArea, type OperatorRole } from '../../src/access.js';
import type { ALERT_SEVERITIES } from '../../src/alerts/alert-types.js';
import { ALERT_TYPES, type AlertSeverity } from '../../src/alerts/alert-types.js';
import type {
  AlertOut,
  DeviceOut,
  HierarchyOut,
  OperatorAreaSchema,
  OperatorRoleSchema,
  SessionOut,
  SiteOut,
} from '../../src/api/schemas.js';
import type { CommandViewSchema } from '../../src/commands/schemas.js';
import type {
  IssuedJoinLinkSchema,
  JoinLinkSchema,
  MeetingDetailSchema,
  MeetingSchema,
} from '../../src/meetings/schemas.js';
import type { RolloutOut } from '../../src/ota/schemas.js';
import type {
  Alert,
  CommandView,
  Device,
  Hierarchy,
  IssuedJoinLink,
  JoinLink,
  Meeting,
  MeetingDetail,
  Operator,
  Rollout,
  Site,
} from '../../ui/api/types.js';
import { en } from '../../ui/i18n/en.js';
import { vi } from '../../ui/i18n/vi.js';

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Equal<A, B>): Equal<A, B> => ok;

// The dashboard's types are the server's, not copies of them.
same<Site, Static<typeof SiteOut>>(true);
same<Hierarchy, Static<typeof HierarchyOut>>(true);
same<Omit<Device, 'updating' | 'inMeeting'>, Static<typeof DeviceOut>>(true);
same<Omit<Alert, 'acknowledgedAt' | 'acknowledgedBy' | 'ackNote'>, Static<typeof AlertOut>>(true);
same<CommandView, Static<typeof CommandViewSchema>>(true);
same<Operator, Static<typeof SessionOut>>(true);
same<Meeting, Static<typeof MeetingSchema>>(true);
same<MeetingDetail, Static<typeof MeetingDetailSchema>>(true);
same<JoinLink, Static<typeof JoinLinkSchema>>(true);
same<IssuedJoinLink, Static<typeof IssuedJoinLinkSchema>>(true);
same<Rollout, Static<typeof RolloutOut>>(true);
// The access rule's roles and areas are the API's (its input also takes the older role names).
same<Static<typeof OperatorRoleSchema>, (typeof ROLE_NAMES)[number]>(true);
same<Static<typeof OperatorAreaSchema>, OperatorArea>(true);
same<(typeof OPERATOR_ROLES)[number], OperatorRole>(true);
same<(typeof ALERT_SEVERITIES)[number], AlertSeverity>(true);

const labels = [vi, en].map((dict) => ({ lang: dict === vi ? 'vi' : 'en', dict: dict as Record<string, string> }));

t.test('every alert type the fleet raises has a family and a label in both languages', async (t) => {
  // Loaded at run time: its module reaches the page's JSX, which the Node typecheck does not compile.
  const alertText = '../../ui/components/alertText.js';
  const { alertFamily } = (await import(alertText)) as { alertFamily: (type: string) => string };
  for (const type of ALERT_TYPES) {
    const family = alertFamily(type);
    t.not(family, 'other', `${type} falls into a family`);
    for (const { lang, dict } of labels) t.ok(dict[`alert.${family}`], `${lang}: alert.${family} (${type})`);
  }
});

t.test('every role name the API accepts has a label in both languages', async (t) => {
  for (const role of ROLE_NAMES)
    for (const { lang, dict } of labels) t.ok(dict[`role.${role}`], `${lang}: role.${role}`);
});
