// Settings of the dashboard: the `ui` section of the fleet's tree (config.ts).
import { Type, type Static } from '@sinclair/typebox';
import { settingsSection } from '@diemcau/shared';

export const UiConfigSchema = settingsSection(
  {
    buildDir: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_UI_DIR',
        docDefault: '`fleet/public/build`',
        description: 'where the dashboard bundle is (built by `node fleet/scripts/build-ui.mjs`)',
      }),
    ),
  },
  "the operators' dashboard",
);
export type UiConfig = Static<typeof UiConfigSchema>;
