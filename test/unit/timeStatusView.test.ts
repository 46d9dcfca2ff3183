import * as assert from 'node:assert/strict';
import type { TimeSnapshot } from '../../daemon/protocol';
import { changeReason } from '../../daemon/time/liveStatus';
import { applyEdit, enableTimeTrackingEdit, trackingEnabledInText } from '../../extension/time/enableTracking';
import { describeSnapshot, secondsNow, timeMenuChoices } from '../../extension/time/statusView';

const AT = Date.parse('2026-03-14T10:00:00Z');
const snap = (over: Partial<TimeSnapshot['status']> = {}, extra: Partial<TimeSnapshot> = {}): TimeSnapshot => ({
  reason: 'grew',
  at: new Date(AT).toISOString(),
  status: { user: 'ada', tracking: true, paused: false, active: true, todaySeconds: 3600 + 25 * 60, branch: 'main', lastActivity: new Date(AT).toISOString(), uncementedSeconds: 600, warnings: [], ...over },
  growsUntil: new Date(AT + 60_000).toISOString(),
  ...extra,
});

describe('status-bar time', () => {
  it('shows today\'s time with the active, idle or paused icon', () => {
    assert.equal(describeSnapshot(snap(), AT, 'full').text, '$(pulse) 1h 25m');
    assert.equal(describeSnapshot(snap({ active: false }, { growsUntil: undefined }), AT, 'full').text, '$(watch) 1h 25m');
    assert.equal(describeSnapshot(snap({ paused: true, active: false }), AT, 'full').text, '$(debug-pause) 1h 25m paused');
    assert.equal(describeSnapshot(snap(), AT, 'icon').text, '$(pulse)');
  });

  it('runs an open block\'s clock on between pushes, only until its last activity plus padding', () => {
    assert.equal(secondsNow(snap(), AT + 30_000), 5100 + 30);
    assert.equal(secondsNow(snap(), AT + 10 * 60_000), 5100 + 60);
    assert.equal(secondsNow(snap({ active: false }), AT + 10 * 60_000), 5100);
  });

  it('takes the warning colour when uncemented time is more than a day old', () => {
    assert.equal(describeSnapshot(snap({}, { uncementedSince: new Date(AT - 3600_000).toISOString() }), AT, 'full').warning, false);
    const old = describeSnapshot(snap({}, { uncementedSince: new Date(AT - 25 * 3600_000).toISOString() }), AT, 'full');
    assert.equal(old.warning, true);
    assert.match(old.tooltip.join('\n'), /more than a day old/);
  });

  it('has a tooltip with the branch, last activity and uncemented time', () => {
    const t = describeSnapshot(snap(), AT, 'full').tooltip.join('\n');
    assert.match(t, /Branch: `main`/);
    assert.match(t, /Last activity: /);
    assert.match(t, /Not yet cemented: 10 min/);
  });

  it('offers Cement, Report, Pause or Resume, Verify in its menu', () => {
    assert.deepEqual(timeMenuChoices(snap().status).map((c) => c.command),
      ['heavy.cementTime', 'heavy.showTimeReport', 'heavy.pauseTimeTracking', 'heavy.verifyTimeLogs']);
    assert.equal(timeMenuChoices(snap({ paused: true }).status)[2].command, 'heavy.resumeTimeTracking');
    assert.equal(timeMenuChoices(snap().status)[0].description, '10 min not yet cemented');
    assert.equal(timeMenuChoices(undefined).length, 4);
  });

  it('names what changed between two readings', () => {
    const s = snap().status;
    assert.equal(changeReason(undefined, s), 'started');
    assert.equal(changeReason({ ...s, active: false }, s), 'opened');
    assert.equal(changeReason(s, { ...s, active: false }), 'closed');
    assert.equal(changeReason(s, { ...s, paused: true }), 'paused');
    assert.equal(changeReason(s, { ...s, uncementedSeconds: 0 }), 'cemented');
    assert.equal(changeReason(s, { ...s, lastActivity: 'later' }), 'grew');
  });
});

describe('Enable Time Tracking: the pyproject.toml edit', () => {
  const enable = (text: string) => {
    const edit = enableTimeTrackingEdit(text);
    return edit ? applyEdit(text, edit) : undefined;
  };

  it('appends the table after a blank line, touching nothing else', () => {
    assert.equal(enable('[project]\nname = "x"  # the name\n'), '[project]\nname = "x"  # the name\n\n[tool.heavy.time]\nenabled = true\n');
    assert.equal(enable('[project]\nname = "x"'), '[project]\nname = "x"\n\n[tool.heavy.time]\nenabled = true\n');
    assert.equal(enable('[project]\n\n'), '[project]\n\n[tool.heavy.time]\nenabled = true\n');
    assert.equal(enable(''), '[tool.heavy.time]\nenabled = true\n');
    assert.equal(enable('[a]\r\nb = 1\r\n'), '[a]\r\nb = 1\r\n\r\n[tool.heavy.time]\r\nenabled = true\r\n');
  });

  it('adds the key under an existing table, or flips false to true', () => {
    assert.equal(enable('[tool.heavy.time]  # time\nuser = "ada"\n\n[other]\n'), '[tool.heavy.time]  # time\nenabled = true\nuser = "ada"\n\n[other]\n');
    assert.equal(enable('[tool.heavy.time]\nenabled = false  # off for now\n'), '[tool.heavy.time]\nenabled = true  # off for now\n');
    assert.equal(enable('[tool.heavy.time]'), '[tool.heavy.time]\nenabled = true\n');
  });

  it('does nothing when tracking is already on, and ignores other tables\' enabled keys', () => {
    assert.equal(enableTimeTrackingEdit('[tool.heavy.time]\nenabled = true\n'), undefined);
    assert.equal(enable('[tool.other]\nenabled = false\n'), '[tool.other]\nenabled = false\n\n[tool.heavy.time]\nenabled = true\n');
  });
});

describe('Is tracking on? (the status bar\'s first look, a line scan)', () => {
  it('finds enabled = true only inside [tool.heavy.time]', () => {
    assert.equal(trackingEnabledInText('[tool.heavy.time]\nuser = "a"\nenabled = true  # yes\n'), true);
    assert.equal(trackingEnabledInText('[ tool.heavy.time ]\r\nenabled=true\r\n'), true);
    assert.equal(trackingEnabledInText('[tool.heavy.time]\nenabled = false\n'), false);
    assert.equal(trackingEnabledInText('[tool.other]\nenabled = true\n'), false);
    assert.equal(trackingEnabledInText('[tool.heavy.time]\n# enabled = true\n'), false);
    assert.equal(trackingEnabledInText(''), false);
  });
});
