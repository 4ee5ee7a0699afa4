import { AirflowHostBaseProps } from '../hosts/airflow-host';

/** Where a part of the host is created and how it is named and tagged (the host's own placement). */
export type HostPlacement = Pick<AirflowHostBaseProps, 'resourceGroup' | 'location' | 'namePrefix' | 'tags'>;
