import type { Site } from '@diemcau/shared';

// The 210 sites of Yên Bái's video-briefing network as published: provincial
// party committee 1, people's council 1, people's committee 1, party boards 6,
// departments 19, districts 9 and 173 communes, wards and townships under
// them. Commune names follow the province's administrative units after the
// 2019–2020 mergers as far as we know them; the site import (provisioning/)
// replaces them with the province's own list, ids included, where it differs.

const PROVINCE: Array<Omit<Site, 'parentId'>> = [
  { id: 'yb-party-committee', name: 'Tỉnh ủy Yên Bái', kind: 'party-committee' },
  { id: 'yb-peoples-council', name: 'Hội đồng nhân dân tỉnh Yên Bái', kind: 'peoples-council' },
  { id: 'yb-peoples-committee', name: 'Ủy ban nhân dân tỉnh Yên Bái', kind: 'peoples-committee' },
  { id: 'yb-board-organisation', name: 'Ban Tổ chức Tỉnh ủy', kind: 'party-board' },
  { id: 'yb-board-propaganda', name: 'Ban Tuyên giáo Tỉnh ủy', kind: 'party-board' },
  { id: 'yb-board-mass-mobilisation', name: 'Ban Dân vận Tỉnh ủy', kind: 'party-board' },
  { id: 'yb-board-inspection', name: 'Ủy ban Kiểm tra Tỉnh ủy', kind: 'party-board' },
  { id: 'yb-board-internal-affairs', name: 'Ban Nội chính Tỉnh ủy', kind: 'party-board' },
  { id: 'yb-board-office', name: 'Văn phòng Tỉnh ủy', kind: 'party-board' },
  ...(
    [
      ['home-affairs', 'Sở Nội vụ'],
      ['justice', 'Sở Tư pháp'],
      ['planning-investment', 'Sở Kế hoạch và Đầu tư'],
      ['finance', 'Sở Tài chính'],
      ['industry-trade', 'Sở Công Thương'],
      ['agriculture', 'Sở Nông nghiệp và Phát triển nông thôn'],
      ['transport', 'Sở Giao thông vận tải'],
      ['construction', 'Sở Xây dựng'],
      ['natural-resources', 'Sở Tài nguyên và Môi trường'],
      ['information', 'Sở Thông tin và Truyền thông'],
      ['labour', 'Sở Lao động - Thương binh và Xã hội'],
      ['culture', 'Sở Văn hóa, Thể thao và Du lịch'],
      ['science', 'Sở Khoa học và Công nghệ'],
      ['education', 'Sở Giáo dục và Đào tạo'],
      ['health', 'Sở Y tế'],
      ['inspectorate', 'Thanh tra tỉnh'],
      ['office', 'Văn phòng Ủy ban nhân dân tỉnh'],
      ['ethnic-affairs', 'Ban Dân tộc tỉnh'],
      ['foreign-affairs', 'Sở Ngoại vụ'],
    ] as const
  ).map(([slug, name]) => ({ id: `yb-dept-${slug}`, name, kind: 'department' as const })),
];

// Prefixes: "P." ward (phường), "TT." township (thị trấn), otherwise a commune (xã).
// "#slug" gives the id explicitly where two names differ only by diacritics
// (Minh Quán and Minh Quân, both in Trấn Yên); Telex spelling keeps it readable.
const DISTRICTS: Array<{ id: string; name: string; units: string[] }> = [
  {
    id: 'yb-city',
    name: 'Thành phố Yên Bái',
    units: [
      'P. Đồng Tâm',
      'P. Hồng Hà',
      'P. Minh Tân',
      'P. Nguyễn Phúc',
      'P. Nguyễn Thái Học',
      'P. Yên Ninh',
      'P. Yên Thịnh',
      'P. Nam Cường',
      'P. Hợp Minh',
      'Âu Lâu',
      'Giới Phiên',
      'Minh Bảo',
      'Phúc Lộc',
      'Tân Thịnh',
      'Tuy Lộc',
      'Văn Phú',
      'Văn Tiến',
    ],
  },
  {
    id: 'yb-nghia-lo',
    name: 'Thị xã Nghĩa Lộ',
    units: [
      'P. Cầu Thia',
      'P. Pú Trạng',
      'P. Tân An',
      'P. Trung Tâm',
      'Nghĩa An',
      'Nghĩa Lợi',
      'Nghĩa Phúc',
      'Nghĩa Lộ',
      'Phù Nham',
      'Phúc Sơn',
      'Sơn A',
      'Thạch Lương',
      'Thanh Lương',
      'Hạnh Sơn',
    ],
  },
  {
    id: 'yb-luc-yen',
    name: 'Huyện Lục Yên',
    units: [
      'TT. Yên Thế',
      'An Lạc',
      'An Phú',
      'Động Quan',
      'Khai Trung',
      'Khánh Hòa',
      'Khánh Thiện',
      'Lâm Thượng',
      'Liễu Đô',
      'Mai Sơn',
      'Minh Chuẩn',
      'Minh Tiến',
      'Minh Xuân',
      'Mường Lai',
      'Phan Thanh',
      'Phúc Lợi',
      'Tân Lập',
      'Tân Lĩnh',
      'Tân Phượng',
      'Tô Mậu',
      'Trúc Lâu',
      'Trung Tâm',
      'Vĩnh Lạc',
      'Yên Thắng',
    ],
  },
  {
    id: 'yb-van-yen',
    name: 'Huyện Văn Yên',
    units: [
      'TT. Mậu A',
      'An Bình',
      'An Thịnh',
      'Châu Quế Hạ',
      'Châu Quế Thượng',
      'Đại Phác',
      'Đại Sơn',
      'Đông An',
      'Đông Cuông',
      'Hoàng Thắng',
      'Lâm Giang',
      'Lang Thíp',
      'Mỏ Vàng',
      'Nà Hẩu',
      'Ngòi A',
      'Phong Dụ Hạ',
      'Phong Dụ Thượng',
      'Quang Minh',
      'Tân Hợp',
      'Viễn Sơn',
      'Xuân Ái',
      'Xuân Tầm',
      'Yên Hợp',
      'Yên Phú',
      'Yên Thái',
    ],
  },
  {
    id: 'yb-mu-cang-chai',
    name: 'Huyện Mù Cang Chải',
    units: [
      'TT. Mù Cang Chải',
      'Cao Phạ',
      'Chế Cu Nha',
      'Chế Tạo',
      'Dế Xu Phình',
      'Hồ Bốn',
      'Khao Mang',
      'Kim Nọi',
      'La Pán Tẩn',
      'Lao Chải',
      'Mồ Dề',
      'Nậm Có',
      'Nậm Khắt',
      'Púng Luông',
    ],
  },
  {
    id: 'yb-tran-yen',
    name: 'Huyện Trấn Yên',
    units: [
      'TT. Cổ Phúc',
      'Báo Đáp',
      'Bảo Hưng',
      'Cường Thịnh',
      'Đào Thịnh',
      'Hòa Cuông',
      'Hồng Ca',
      'Hưng Khánh',
      'Hưng Thịnh',
      'Kiên Thành',
      'Lương Thịnh',
      'Minh Quán',
      'Minh Quân#minh-quaan',
      'Nga Quán',
      'Quy Mông',
      'Tân Đồng',
      'Việt Cường',
      'Việt Hồng',
      'Vân Hội',
      'Y Can',
      'Việt Thành',
    ],
  },
  {
    id: 'yb-tram-tau',
    name: 'Huyện Trạm Tấu',
    units: [
      'TT. Trạm Tấu',
      'Bản Công',
      'Bản Mù',
      'Hát Lừu',
      'Làng Nhì',
      'Pá Hu',
      'Pá Lau',
      'Phình Hồ',
      'Tà Si Láng',
      'Trạm Tấu',
      'Túc Đán',
      'Xà Hồ',
    ],
  },
  {
    id: 'yb-van-chan',
    name: 'Huyện Văn Chấn',
    units: [
      'TT. Nông trường Liên Sơn',
      'TT. Nông trường Nghĩa Lộ',
      'TT. Nông trường Trần Phú',
      'TT. Sơn Thịnh',
      'An Lương',
      'Bình Thuận',
      'Cát Thịnh',
      'Chấn Thịnh',
      'Đại Lịch',
      'Đồng Khê',
      'Gia Hội',
      'Minh An',
      'Nậm Búng',
      'Nậm Mười',
      'Nghĩa Sơn',
      'Nghĩa Tâm',
      'Sơn Lương',
      'Suối Bu',
      'Suối Giàng',
      'Suối Quyền',
      'Sùng Đô',
      'Thượng Bằng La',
      'Tú Lệ',
    ],
  },
  {
    id: 'yb-yen-binh',
    name: 'Huyện Yên Bình',
    units: [
      'TT. Yên Bình',
      'TT. Thác Bà',
      'Bạch Hà',
      'Bảo Ái',
      'Cảm Ân',
      'Cảm Nhân',
      'Đại Đồng',
      'Đại Minh',
      'Hán Đà',
      'Mông Sơn',
      'Mỹ Gia',
      'Ngọc Chấn',
      'Phúc An',
      'Phúc Ninh',
      'Phú Thịnh',
      'Tân Hương',
      'Tân Nguyên',
      'Thịnh Hưng',
      'Vĩnh Kiên',
      'Vũ Linh',
      'Xuân Lai',
      'Xuân Long',
      'Yên Thành',
    ],
  },
];

/** ASCII slug of a Vietnamese name: diacritics dropped, đ → d. */
export function slug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function unit(districtId: string, entry: string): Site {
  const [label, explicit] = entry.split('#') as [string, string | undefined];
  const [prefix, rest] = label.startsWith('P. ')
    ? ['phuong-', ['Phường', label.slice(3)] as const]
    : label.startsWith('TT. ')
      ? ['tt-', ['Thị trấn', label.slice(4)] as const]
      : ['', ['Xã', label] as const];
  return {
    id: `${districtId}-${prefix}${explicit ?? slug(rest[1])}`,
    name: `${rest[0]} ${rest[1]}`,
    kind: 'commune',
    parentId: districtId,
  };
}

export function yenBaiSites(): Site[] {
  const sites: Site[] = PROVINCE.map((s) => ({ ...s, parentId: null }));
  for (const d of DISTRICTS) {
    sites.push({ id: d.id, name: d.name, kind: 'district', parentId: null });
    for (const u of d.units) sites.push(unit(d.id, u));
  }
  return sites;
}
