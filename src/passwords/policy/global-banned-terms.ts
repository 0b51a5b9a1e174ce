/*
 * Rekey's global banned list: terms that make a password easy to guess, written for Rekey (not
 * copied from any other product's list). Each is lower case and 4 to 16 characters long; the
 * matcher normalises them like passwords, so look-alike spellings ("p@ssw0rd") need no entry of
 * their own, and fuzzy matching catches one typo or extra letter ("passwrd", "passsword").
 *
 * Password Protection does not reject a password for containing one of these: each term found
 * counts one point instead of one point per character, and the password needs 5 points overall.
 */

/** The words of a whitespace-separated block: keeps the groups compact and easy to edit. */
function words(block: string): readonly string[] {
  return block.split(/\s+/).filter((word) => word !== '');
}

const passwordWords = words(`
  password passwort passwd passcode passphrase passport pass pwd123 letmein welcome changeme
  change newpass newpassword mypassword temppass temporary default secret topsecret private secure
  security access login logon signin sign open opensesame unlock entry enter trustno1 iloveyou
  ihateyou whatever nothing something anything forget forgot remember sample example test testing
  tester demo trial guest user username account member start begin first again hello hallo hola
  goodbye please thanks thankyou sorry okay nope
`);

const itWords = words(`
  admin administrator root superuser sysadmin system server network support helpdesk service
  services manager management operator backup database oracle mysql postgres cisco router wifi
  wireless internet computer laptop desktop windows linux ubuntu debian apple macbook iphone
  android samsung google gmail yahoo hotmail outlook office microsoft azure office365 teams skype
  facebook twitter instagram linkedin youtube netflix amazon paypal ebay email mail webmaster
  website online cloud domain directory token qwerty keyboard mouse monitor printer scanner phone
  mobile cellphone desk
`);

const workWords = words(`
  company corporate corporation business enterprise office team staff employee worker work
  workplace finance payroll invoice accounts sales marketing project projects client customer
  partner vendor contract department headquarters branch global international group holding
  limited incorporated boss meeting monday deadline budget report bank money dollar euro cash
  credit profit success winner target quality
`);

const keyboardWalks = words(`
  qwerty qwertz azerty qwertyui qwertyuiop qwer wert asdf asdfgh asdfghjk asdfghjkl sdfg zxcv
  zxcvb zxcvbn zxcvbnm xcvb qazwsx qazwsxedc wsxedc 1qaz2wsx 1q2w3e4r 1q2w3e q1w2e3r4 qweasd
  qweasdzxc asdzxc zaq12wsx zaq1 xsw2 poiuytrewq poiuy lkjhgfdsa lkjh mnbvcxz mnbv ytrewq abcd
  abcde abcdef abcdefg abcdefgh abcd1234 abc123 abc12345 a1b2c3 a1b2c3d4 aaaa aaaaaa zzzz xxxx
  xxxxxx asdasd qweqwe zxczxc qwe123 asd123 zxc123
`);

const numberPatterns = words(`
  1234 12345 123456 1234567 12345678 123456789 1234567890 0123456789 0000 000000 1111 111111 2222
  222222 3333 4444 5555 6666 666666 7777 7777777 8888 88888888 9999 999999 1212 121212 123123
  123321 1122 112233 4321 54321 654321 87654321 987654321 9876543210 2468 13579 147258 147258369
  159357 159753 258456 741852963 123654 696969 202020 101010 1357 0987 09876
`);

const years = Array.from({ length: 2035 - 1950 + 1 }, (_, index) => String(1950 + index));

const seasonsAndTime = words(`
  spring summer autumn fall winter season january february march april june july august september
  october november december sept monday tuesday wednesday thursday friday saturday sunday weekend
  today tomorrow yesterday morning night midnight christmas xmas easter halloween newyear holiday
  holidays vacation birthday anniversary
`);

const sports = words(`
  football soccer baseball basketball hockey tennis golf rugby cricket boxing racing nascar skate
  skateboard surfing running cycling swimming volleyball softball wrestling champion champions
  player goalie striker yankees redsox lakers celtics bulls cowboys steelers packers patriots
  eagles raiders giants dolphins chelsea arsenal liverpool manutd barcelona realmadrid juventus
  bayern celtic rangers ferrari mercedes porsche corvette mustang harley yamaha honda toyota
`);

const everydayWords = words(`
  love lover loveme lovely loving baby babygirl sweetie sweetheart honey darling angel angels
  princess prince queen king kingdom jesus heaven blessed faith hope peace freedom liberty family
  friend friends forever happy smile sunshine rainbow flower flowers butterfly beautiful pretty
  cute sexy hottie cookie chocolate candy sugar banana apple orange cherry lemon pepper coffee
  pizza cheese beer vodka whiskey music guitar piano dance dancer party magic dream dreams star
  stars moon planet world earth ocean water fire storm thunder lightning shadow silver golden
  diamond crystal purple yellow green black white blue pink home house school college student
  teacher doctor nurse police america london paris berlin canada england france germany mexico
  texas california florida chicago
`);

const animalsAndHeroes = words(`
  monkey dragon tiger lion eagle falcon hawk wolf bear shark snake horse pony bunny rabbit kitty
  kitten puppy doggy doggie turtle panda penguin dolphin spider buddy lucky charlie maggie max123
  bella daisy molly rocky buster ginger pepper oscar teddy batman superman spiderman ironman hulk
  thor starwars jedi yoda vader pokemon pikachu mario zelda minecraft fortnite matrix ninja pirate
  hunter killer warrior soldier knight wizard merlin gandalf hobbit master mustang phoenix legend
  hero cowboy rockstar superstar genius player1
`);

const commonNames = words(`
  michael jennifer jessica ashley daniel david james john robert william thomas joseph matthew
  andrew joshua christopher anthony nicole michelle amanda melissa sarah elizabeth maria anna emma
  olivia sophie jordan taylor justin hannah george harry oliver jack charlotte alex alexander
  samantha victoria patrick peter paul mark steven kevin
`);

/** The groups overlap a little ("office", "pepper"); the list keeps each term once. */
function uniqueTerms(groups: ReadonlyArray<readonly string[]>): readonly string[] {
  return Object.freeze([...new Set(groups.flat())]);
}

/** The global banned terms, lower case, 4 to 16 characters, without duplicates. */
export const globalBannedTerms: readonly string[] = uniqueTerms([
  passwordWords,
  itWords,
  workWords,
  keyboardWalks,
  numberPatterns,
  years,
  seasonsAndTime,
  sports,
  everydayWords,
  animalsAndHeroes,
  commonNames,
]);
