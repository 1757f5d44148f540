// Sizing the wall's type to the screen: the largest font size at which the
// blocks fit the window's height (and width) without scrolling, found by
// bisection over real layouts. Never below the readable floor: a screen too
// small for every site (a tablet) scrolls rather than shrinking the text.

export const MIN_FONT_PX = 13;
const MAX_FONT_PX = 44;
const STEPS = 8;

export function fitFontSize(wall: HTMLElement, blocks: HTMLElement): number {
  const fits = (px: number): boolean => {
    wall.style.fontSize = `${px}px`;
    const room = window.innerHeight - blocks.getBoundingClientRect().top - window.scrollY;
    return blocks.scrollHeight <= room - 8 && blocks.scrollWidth <= blocks.clientWidth;
  };
  let lo = MIN_FONT_PX;
  let hi = MAX_FONT_PX;
  if (!fits(lo)) {
    wall.style.fontSize = `${lo}px`;
    return lo;
  }
  for (let i = 0; i < STEPS && hi - lo > 0.5; i++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const px = Math.floor(lo * 2) / 2;
  wall.style.fontSize = `${px}px`;
  return px;
}
