import { alertTiming, isoDuration, shortestWindowOfAtLeast, LOG_ALERT_WINDOW_MINUTES } from '../../lib/private/alert-timing';

describe('isoDuration', () => {
  it.each([
    [1, 'PT1M'],
    [5, 'PT5M'],
    [45, 'PT45M'],
    [60, 'PT1H'],
    [120, 'PT2H'],
    [720, 'PT12H'],
    [1440, 'P1D'],
    [2880, 'P2D'],
  ])('%i minutes is %s', (minutes, iso) => {
    expect(isoDuration(minutes)).toBe(iso);
  });
});

describe('alertTiming', () => {
  it('returns ISO durations for values Azure accepts', () => {
    expect(alertTiming('metric', 'someAlert', 5, 15)).toEqual({ evaluationFrequency: 'PT5M', window: 'PT15M' });
    expect(alertTiming('metric', 'someAlert', 60, 1440)).toEqual({ evaluationFrequency: 'PT1H', window: 'P1D' });
    expect(alertTiming('log', 'someAlert', 15, 2880)).toEqual({ evaluationFrequency: 'PT15M', window: 'P2D' });
    expect(alertTiming('log', 'someAlert', 1, 360)).toEqual({ evaluationFrequency: 'PT1M', window: 'PT6H' });
  });

  it.each([
    ['metric', 10, 15, /someAlert\.evaluationFrequencyMinutes must be one of 1, 5, 15, 30, 60 for a metric alert \(got 10\)/],
    ['metric', 5, 10, /someAlert\.windowMinutes must be one of 1, 5, 15, 30, 60, 360, 720, 1440 for a metric alert \(got 10\)/],
    ['metric', 5, 2880, /someAlert\.windowMinutes must be one of .* \(got 2880\)/],
    ['metric', 15, 5, /someAlert\.windowMinutes \(5\) must be at least someAlert\.evaluationFrequencyMinutes \(15\)/],
    ['log', 7, 15, /someAlert\.evaluationFrequencyMinutes must be one of .* for a log alert \(got 7\)/],
    ['log', 5, 20, /someAlert\.windowMinutes must be one of .* for a log alert \(got 20\)/],
    ['log', 1440, 60, /someAlert\.windowMinutes \(60\) must be at least someAlert\.evaluationFrequencyMinutes \(1440\)/],
    ['log', 1, 1440, /someAlert\.windowMinutes must be at most 360 when someAlert\.evaluationFrequencyMinutes is 1/],
  ] as const)('rejects a %s alert every %i minutes over %i minutes', (kind, frequency, window, message) => {
    expect(() => alertTiming(kind, 'someAlert', frequency, window)).toThrow(message);
  });
});

describe('shortestWindowOfAtLeast', () => {
  it('picks the shortest allowed window that is long enough, or none', () => {
    expect(shortestWindowOfAtLeast(LOG_ALERT_WINDOW_MINUTES, 1440)).toBe(1440);
    expect(shortestWindowOfAtLeast(LOG_ALERT_WINDOW_MINUTES, 1441)).toBe(2880);
    expect(shortestWindowOfAtLeast(LOG_ALERT_WINDOW_MINUTES, 2881)).toBeUndefined();
  });
});
