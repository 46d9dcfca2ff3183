import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { chromium } from 'playwright-core';

export interface ChartPixels { title: string; width: number; height: number; strokePixels: number }

/**
 * Opens a replay report in headless Chromium, screenshots it to `png`, and counts, per chart,
 * the pixels Chromium painted in each series' stroke colour: what a person sees, not just
 * that the markup is there.
 */
export async function renderReport(htmlFile: string, png: string): Promise<ChartPixels[]> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    await page.goto(`file://${htmlFile}`);
    await page.screenshot({ path: png, fullPage: true });
    assert.ok(fs.statSync(png).size > 1000, 'the screenshot is empty');
    // Each chart's SVG drawn into a canvas by the browser, then its pixels read back.
    // Plain JavaScript for the page (this project's TypeScript has no DOM types).
    return await page.evaluate(`(async () => {
      const charts = [...document.querySelectorAll('svg.chart')];
      const out = [];
      for (const svg of charts) {
        const box = svg.getBoundingClientRect();
        const colours = [...svg.querySelectorAll('polyline')].map((p) => p.getAttribute('stroke') || '');
        const rgb = colours.map((c) => {
          const probe = document.createElement('canvas').getContext('2d');
          probe.fillStyle = c;
          const hex = probe.fillStyle;
          return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        });
        const img = new Image();
        img.src = \`data:image/svg+xml;charset=utf-8,\${encodeURIComponent(new XMLSerializer().serializeToString(svg))}\`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = Math.round(box.width);
        canvas.height = Math.round(box.height);
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let strokePixels = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 200 && rgb.some(([r, g, b]) => Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8 && Math.abs(data[i + 2] - b) < 8)) strokePixels++;
        }
        out.push({ title: svg.getAttribute('aria-label') || '', width: box.width, height: box.height, strokePixels });
      }
      return out;
    })()`) as ChartPixels[];
  } finally {
    await browser.close();
  }
}
