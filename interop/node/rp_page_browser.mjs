// The relying party's page in a real headless browser (Chromium, driven by playwright-core):
// loads the page `kmid serve` shows at `/`, picks a template, starts a transaction, hands the
// request URL the page shows to a wallet command (kmid wallet present), and reports what the
// page then shows: the verdict, the claims, the photo's decoded size, and a screenshot.
//
// Input (JSON, argv[2]): {browser, url, template, card, format, legal_basis?, wallet: [program,
// ...args], cwd, screenshot}. Output (stdout, JSON): {request_url, qr_svg_bytes, wallet_exit,
// verdict, reason, claims: {name: text}, portrait: {shown, width, height}, error}.
import { chromium } from "playwright-core";
import { spawnSync } from "node:child_process";

const input = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: input.browser,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
const out = {};
try {
  // The demonstration's TLS CA is private to the test: the browser is told to accept it.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(input.url, { waitUntil: "load" });
  await page.selectOption("#template", input.template);
  await page.selectOption("#card", input.card);
  await page.selectOption("#format", input.format);
  if (input.legal_basis !== undefined) {
    await page.fill("#legal-basis", input.legal_basis);
  }
  await page.click("#go");
  await page.waitForFunction(
    () => !document.getElementById("request").hidden || !document.getElementById("error").hidden,
    null,
    { timeout: 15000 },
  );
  if (!(await page.isHidden("#error"))) {
    out.error = await page.textContent("#error");
  } else {
    out.request_url = await page.getAttribute("#link", "href");
    out.qr_svg_bytes = await page.$eval("#qr svg", (svg) => svg.outerHTML.length);
    const [program, ...args] = input.wallet;
    const wallet = spawnSync(program, [...args, out.request_url], {
      cwd: input.cwd,
      encoding: "utf8",
      timeout: 60000,
    });
    out.wallet_exit = wallet.status;
    out.wallet_output = (wallet.stdout || "") + (wallet.stderr || "");
    if (wallet.status === 0) {
      await page.waitForFunction(() => !document.getElementById("result").hidden, null, {
        timeout: 15000,
      });
      out.verdict = await page.textContent("#verdict");
      out.reason = await page.textContent("#reason");
      out.claims = await page.$$eval("dd[data-claim]", (els) =>
        Object.fromEntries(els.map((e) => [e.dataset.claim, e.textContent])),
      );
      out.portrait = await page.$eval("#portrait", (img) => ({
        shown: !img.hidden,
        width: img.naturalWidth,
        height: img.naturalHeight,
      }));
    }
  }
  await page.screenshot({ path: input.screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
